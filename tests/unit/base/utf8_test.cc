#include "base/utf8.h"

#include <doctest/doctest.h>

#include <string>

namespace tfpm::base {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST_CASE("well-formed UTF-8 passes unchanged") {
  for (const char* s : {"", "plain ascii /index.php?a=1", "caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9F\x98\x80",
                        "\xED\x9F\xBF", "\xF4\x8F\xBF\xBF"}) {
    CAPTURE(s);
    CHECK(IsValidUtf8(s));
    CHECK(ValidUtf8(s) == s);
  }
}

TEST_CASE("every byte outside a well-formed sequence becomes U+FFFD, one per byte") {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"\xff:x", kFffd + ":x"},                        // the Authorization: Basic user of the issue
      {"a\x80" "b", "a" + kFffd + "b"},                // stray continuation byte
      {"\xC0\xAF", kFffd + kFffd},                     // overlong '/'
      {"\xE0\x80\xAF", kFffd + kFffd + kFffd},         // overlong, 3 bytes
      {"\xED\xA0\x80", kFffd + kFffd + kFffd},         // surrogate U+D800
      {"\xF4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},  // above U+10FFFF
      {"x\xE2\x82", "x" + kFffd + kFffd},              // cut in the middle of a character
      {"\xC3\xA9\xE9t\xC3\xA9", "\xC3\xA9" + kFffd + "t\xC3\xA9"},  // Latin-1 between UTF-8
  };
  for (const Case& c : cases) {
    CAPTURE(c.in);
    CHECK_FALSE(IsValidUtf8(c.in));
    const std::string out = ValidUtf8(c.in);
    CHECK(out == c.out);
    CHECK(IsValidUtf8(out));
    CHECK(ValidUtf8(out) == out);  // deterministic, idempotent
  }
}

TEST_CASE("a prefix of at most N bytes never ends inside a character") {
  const std::string euro = "\xE2\x82\xAC";  // 3 bytes
  const std::string s = "ab" + euro + "c";
  CHECK(Utf8Prefix(s, 100) == s.size());
  CHECK(Utf8Prefix(s, 2) == 2);
  CHECK(Utf8Prefix(s, 3) == 2);
  CHECK(Utf8Prefix(s, 4) == 2);
  CHECK(Utf8Prefix(s, 5) == 5);
  // A 255-byte field and a query of 2-byte characters: cut before the one
  // that does not fit.
  std::string query;
  for (int i = 0; i < 200; ++i) query += "\xC3\xA9";
  const size_t n = Utf8Prefix(query, 255);
  CHECK(n == 254);
  CHECK(IsValidUtf8(query.substr(0, n)));
  // Bytes that are not UTF-8 are cut where the field ends.
  const std::string junk(300, '\x80');
  CHECK(Utf8Prefix(junk, 255) == 255);
}

TEST_CASE("EscapeForLog: control characters, backslashes and bytes that are not UTF-8 become \\xHH") {
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"/index.php?a=1&b=caf\xC3\xA9 \xE2\x82\xAC", "/index.php?a=1&b=caf\xC3\xA9 \xE2\x82\xAC"},  // unchanged
      {"/x\n[02-Dec-2026 22:00:00] ALERT: forged", "/x\\x0A[02-Dec-2026 22:00:00] ALERT: forged"},
      {"a\rb\tc\x1b[2Jd\x7f", "a\\x0Db\\x09c\\x1B[2Jd\\x7F"},
      {std::string("nul\0byte", 8), "nul\\x00byte"},
      {"\xff:x", "\\xFF:x"},                       // the Authorization: Basic user of the issue
      {"\xC3", "\\xC3"},                           // cut inside a character
      {"\xC2\x9B" "31m", "\\xC2\\x9B31m"},         // C1 CSI
      {"C:\\temp", "C:\\x5Ctemp"},                 // so an escape in the output is always ours
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CHECK(EscapeForLog(c.in) == c.out);
    CHECK(IsValidUtf8(EscapeForLog(c.in)));
  }
}

}  // namespace
}  // namespace tfpm::base
