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

// `s` made safe to quote in a log line (the error log, the journal): a
// control character (C0, DEL, and the C1 range U+0080..U+009F), a
// backslash and every byte that is not part of a well-formed UTF-8
// sequence become \xHH (one per byte); the rest, printable ASCII and
// valid multi-byte characters, is kept. So a request URI, a param or a
// user name cannot start a line of its own, move the terminal's cursor or
// carry bytes a log reader chokes on. A string with none of them comes
// back unchanged.
std::string EscapeForLog(std::string_view s);

}  // namespace tfpm::base
