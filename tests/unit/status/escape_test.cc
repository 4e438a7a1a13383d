// The status page's escaping (status/escape.h) on the cases PHP handles:
// expected values are what PHP 8.4 prints (the sapi test
// status_escape_test.cc checks thousands more against libphp itself).
#include "status/escape.h"

#include <doctest/doctest.h>

#include <string>

using namespace tfpm::status;

namespace {
std::string JsonDefault(std::string_view s) { return EscapeJson(s, JsonSlashes::kEscaped, JsonUnicode::kEscaped); }
std::string JsonRaw(std::string_view s) { return EscapeJson(s, JsonSlashes::kUnescaped, JsonUnicode::kUnescaped); }
}  // namespace

TEST_CASE("XML/HTML: & < > \" become entities, ' stays, text passes") {
  CHECK(EscapeXml("") == "");
  CHECK(EscapeXml("/index.php?a=1") == "/index.php?a=1");
  CHECK(EscapeXml("<a href=\"x\">&amp;</a>") == "&lt;a href=&quot;x&quot;&gt;&amp;amp;&lt;/a&gt;");
  CHECK(EscapeXml("it's") == "it's");
  CHECK(EscapeXml("caf\xc3\xa9 \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST_CASE("XML/HTML: control bytes XML forbids become U+FFFD; tab, newline, CR stay") {
  CHECK(EscapeXml(std::string("a\0b", 3)) == "a\xef\xbf\xbd" "b");
  CHECK(EscapeXml("\x01\x1f\x7f") == "\xef\xbf\xbd\xef\xbf\xbd\x7f");  // DEL is allowed in XML 1.0
  CHECK(EscapeXml("\t\n\r") == "\t\n\r");
  CHECK(EscapeXml("\xef\xbf\xbe") == "\xef\xbf\xbd");  // U+FFFE
}

TEST_CASE("XML/HTML: invalid UTF-8 anywhere gives the empty string, as PHP") {
  CHECK(EscapeXml("ok \xff") == "");
  CHECK(EscapeXml("\xc3") == "");
  CHECK(EscapeXml("\xc0\xaf") == "");          // overlong "/"
  CHECK(EscapeXml("\xed\xa0\x80") == "");      // surrogate
  CHECK(EscapeXml("\xf4\x90\x80\x80") == "");  // above U+10FFFF
}

TEST_CASE("JSON: quotes, backslash, slashes and control bytes") {
  CHECK(JsonDefault("a\"b\\c") == "a\\\"b\\\\c");
  CHECK(JsonDefault("/a/b") == "\\/a\\/b");
  CHECK(JsonRaw("/a/b") == "/a/b");
  CHECK(JsonDefault("<>&'") == "<>&'");
  CHECK(JsonDefault("\b\f\n\r\t") == "\\b\\f\\n\\r\\t");
  CHECK(JsonDefault(std::string("\0\x01\x1f\x7f", 4)) == "\\u0000\\u0001\\u001f\x7f");
}

TEST_CASE("JSON: Unicode escaped by default (surrogate pairs), raw when asked, line separators always escaped") {
  CHECK(JsonDefault("caf\xc3\xa9") == "caf\\u00e9");
  CHECK(JsonDefault("\xf0\x9f\x98\x80") == "\\ud83d\\ude00");
  CHECK(JsonRaw("caf\xc3\xa9 \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xf0\x9f\x98\x80");
  CHECK(JsonRaw("\xe2\x80\xa8\xe2\x80\xa9") == "\\u2028\\u2029");
}

TEST_CASE("JSON: invalid UTF-8 is dropped as PHP delimits it") {
  CHECK(JsonDefault("a\xff" "b") == "ab");
  CHECK(JsonRaw("\xc3" "a") == "a");               // a lead byte before ASCII: only the lead byte goes
  CHECK(JsonRaw("\xe2\x82" "A") == "A");           // two bytes of a three-byte sequence go together
  CHECK(JsonRaw("\xc3\xc3\xa9") == "\xc3\xa9");    // a lead byte before a valid sequence keeps it
  CHECK(JsonRaw("\xed\xa0\x80x") == "x");          // a surrogate: all three bytes
  CHECK(JsonRaw("\xf0\x9f\x98") == "");            // truncated at the end
}

TEST_CASE("PHP's UTF-8 decoder: code points and how far a bad sequence reaches") {
  size_t pos = 0;
  unsigned cp = 0;
  CHECK(NextUtf8("\xe2\x82\xac", &pos, &cp));
  CHECK(cp == 0x20ac);
  CHECK(pos == 3);
  pos = 0;
  CHECK(!NextUtf8("\xf0\x9f\x98\x41", &pos, &cp));
  CHECK(pos == 3);  // the ASCII byte after is not part of the bad sequence
  pos = 0;
  CHECK(!NextUtf8("\x80", &pos, &cp));
  CHECK(pos == 1);
}
