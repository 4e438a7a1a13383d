// FastCGI name-value pairs (spec §3.4), as carried by PARAMS, GET_VALUES and
// GET_VALUES_RESULT. Each length is 1 byte when < 128, else 4 bytes
// big-endian with the high bit set (so at most 2^31 - 1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace tfpm::fastcgi {

using Param = std::pair<std::string_view, std::string_view>;

// Largest name or value length the encoding can express.
inline constexpr size_t kMaxParamLength = 0x7fffffff;

// Decodes a complete PARAMS (or GET_VALUES) stream: the concatenated contents
// of all its records. `out` is cleared first (capacity kept), then holds the
// pairs in stream order, duplicates included; views point into `stream`.
// An empty stream yields no pairs. A truncated length, or a length with fewer
// bytes behind it than it claims, is a Protocol error naming the byte offset
// of the pair; *out is then unspecified.
// At most `max_pairs` pairs are decoded: a stream with more is an
// InvalidArgument error (a limit, not a malformed stream), found before the
// extra pairs are stored.
Status DecodeParams(std::string_view stream, std::vector<Param>* out, size_t max_pairs = SIZE_MAX);

// DecodeParams for the request path, in the same single pass and in place:
// `buffer` is the stream followed by one spare byte. Each name is moved one
// byte to the left, into the last byte of its length prefix, and a '\0' is
// written after each name and value (a value's takes the first length
// byte of the next pair, once that has been read, or the spare byte), so
// that .data() can be handed to C APIs. The pairs are appended to *out (not
// cleared) as views into `buffer`, whose bytes are no stream afterwards.
// Errors and max_pairs (which counts the stream's pairs only) as
// DecodeParams; on an error *out holds the pairs before it, terminated too.
Status DecodeParamsInPlace(std::span<char> buffer, std::vector<Param>* out, size_t max_pairs = SIZE_MAX);

// Writes the two length prefixes for a pair to out8 and returns how many
// bytes were written (2 to 8). Requires both lengths <= kMaxParamLength.
size_t EncodeParamLengths(size_t name_length, size_t value_length, uint8_t* out8);

// Appends one encoded pair (lengths, name, value) to *out; never shrinks it.
// Requires name.size() and value.size() <= kMaxParamLength.
void AppendParam(std::string_view name, std::string_view value, std::string* out);

}  // namespace tfpm::fastcgi
