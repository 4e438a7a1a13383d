// UTF-8 for text that leaves tfpm as JSON (status page, fpm_get_status(),
// pm-ctl replies). Bytes from clients (request URI, query string, the user
// of an Authorization header) and from config files are arbitrary; JSON
// needs valid UTF-8, and nlohmann::json throws on anything else. Every such
// string passes through ValidUtf8() where it enters JSON.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tfpm::base {

// True if `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// `s` with every byte that does not belong to a well-formed sequence
// replaced by U+FFFD (EF BF BD), one per byte: deterministic, and a valid
// string comes back unchanged.
std::string ValidUtf8(std::string_view s);

// The length of the longest prefix of `s` of at most `max` bytes that does
// not end inside a multi-byte character: where a fixed-size field cuts a
// string. Bytes that are not UTF-8 are cut anywhere.
size_t Utf8Prefix(std::string_view s, size_t max);

}  // namespace tfpm::base
