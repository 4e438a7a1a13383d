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

// DecodeParams for the request path, in the same single pass: each name and
// value is copied into `store` with a '\0' after it (so .data() can be
// handed to C APIs), and the pairs are appended to *out (not cleared) as
// views into `store`. `store` must hold at least stream.size() bytes: each
// pair's two length prefixes (2 bytes or more) make room for its two NULs.
// *used is set to the bytes of `store` written. Errors and max_pairs (which
// counts the pairs of `stream` only) as DecodeParams; on an error *out and
// `store` hold the pairs before it.
Status DecodeParamsTerminated(std::string_view stream, std::span<char> store, std::vector<Param>* out,
                              size_t* used, size_t max_pairs = SIZE_MAX);

// Writes the two length prefixes for a pair to out8 and returns how many
// bytes were written (2 to 8). Requires both lengths <= kMaxParamLength.
size_t EncodeParamLengths(size_t name_length, size_t value_length, uint8_t* out8);

// Appends one encoded pair (lengths, name, value) to *out; never shrinks it.
// Requires name.size() and value.size() <= kMaxParamLength.
void AppendParam(std::string_view name, std::string_view value, std::string* out);

}  // namespace tfpm::fastcgi
