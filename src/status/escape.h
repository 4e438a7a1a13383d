// The escaping of php-fpm's status page, in our own code so the page renders
// without PHP (status/render.h): byte for byte what PHP 8.4 produces with a
// UTF-8 default_charset (checked against libphp for many inputs in
// tests/sapi/status_escape_test.cc).
#pragma once

#include <string>
#include <string_view>

namespace tfpm::status {

// htmlspecialchars($s, ENT_XML1 | ENT_COMPAT | ENT_DISALLOWED, 'UTF-8'):
// & < > " as entities (' unchanged), code points XML 1.0 does not allow
// (control bytes but \t \n \r, U+FFFE, U+FFFF) as U+FFFD, and the empty
// string for input that is not valid UTF-8 (PHP's answer, kept: a partial
// value would be worse than none).
std::string EscapeXml(std::string_view s);

enum class JsonSlashes { kEscaped, kUnescaped };   // "/" as "\/" (PHP's default) or as is
enum class JsonUnicode { kEscaped, kUnescaped };   // non-ASCII as \uXXXX (PHP's default) or as is
// json_encode($s, JSON_INVALID_UTF8_IGNORE [| JSON_UNESCAPED_SLASHES]
// [| JSON_UNESCAPED_UNICODE]) without the surrounding quotes: invalid UTF-8
// bytes dropped (as PHP's decoder delimits them), " \ and control bytes
// escaped, U+2028/U+2029 escaped even when Unicode is not.
std::string EscapeJson(std::string_view s, JsonSlashes slashes, JsonUnicode unicode);

// PHP's UTF-8 decoder (ext/standard/html.c get_next_char, also used by
// json_encode): the code point at `*pos`, advancing `*pos` past it; on an
// invalid sequence returns false and advances past the bytes PHP counts as
// the bad sequence (Unicode TR #36 3.6.1 strategy 2).
bool NextUtf8(std::string_view s, size_t* pos, unsigned* code_point);

}  // namespace tfpm::status
