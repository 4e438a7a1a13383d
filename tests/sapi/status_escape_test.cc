// status/escape.h against libphp itself: our EscapeXml and EscapeJson give
// byte for byte what htmlspecialchars() and json_encode() give with the
// flags the status page used (ENT_XML1|ENT_COMPAT|ENT_DISALLOWED;
// JSON_INVALID_UTF8_IGNORE, with and without UNESCAPED_SLASHES|UNICODE),
// for hand-picked and for many random inputs.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "fakes/memory_exchange.h"
#include "sapi/php_embed.h"
#include "sapi/sapi_test_util.h"
#include "status/escape.h"

namespace tfpm::sapi {
namespace {

std::string Hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::vector<std::string> Inputs() {
  std::vector<std::string> in = {
      "", "plain", "/index.php?a=1&b=2", "quotes \" and ' here", "<script>&amp;</script>", "a/b\\c",
      std::string("nul\0byte", 8), "\x01\x02\x08\x09\x0a\x0b\x0c\x0d\x1b\x1f\x7f",
      "caf\xc3\xa9", "\xe2\x82\xac euro", "\xf0\x9f\x98\x80 emoji", "\xe2\x80\xa8 \xe2\x80\xa9 separators",
      "\xef\xbf\xbe \xef\xbf\xbf nonchars", "\xef\xbf\xbd replacement", "\xed\xa0\x80 surrogate",
      "\xc0\xaf overlong", "\xe0\x80\xaf overlong3", "\xf0\x80\x80\xaf overlong4", "\xf4\x90\x80\x80 too big",
      "\xc3 truncated", "\xe2\x82 truncated3", "\xf0\x9f\x98 truncated4", "\xc3", "\xe2\x82", "\xf0\x9f\x98",
      "\x80 lone trail", "\xff\xfe bytes", "\xc3\xc3\xa9", "\xe2\xc3\xa9", "\xf0\x9f\xc3\xa9",
      "\xe2\x82\x41", "\xf0\x9f\x98\x41", "\xc2\x80\xc2\x9f C1", "&#039; &quot; already", "\xf5\x80\x80\x80",
  };
  // Random strings over bytes that matter: ASCII specials, control bytes,
  // lead and trail bytes.
  const std::string alphabet = std::string("aZ09 /\\\"'<>&;#\t\n\r\b\f", 20) + std::string("\0\x01\x1f\x7f", 4) +
                               "\x80\xbf\xc2\xc3\xdf\xe0\xe2\xed\xef\xf0\xf4\xf5\xff\xa9\x82\xac\x9f\x98";
  std::mt19937 rng(1418);
  for (int i = 0; i < 3000; ++i) {
    std::string s(std::uniform_int_distribution<size_t>(1, 12)(rng), ' ');
    for (char& c : s) c = alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
    in.push_back(std::move(s));
  }
  return in;
}

TEST_CASE("status page escaping: ours equals PHP's htmlspecialchars and json_encode for every input") {
  const std::vector<std::string> inputs = Inputs();
  std::string body;
  for (const std::string& s : inputs) body += Hex(s) + "\n";
  auto script = Rt().Script("escape.php", R"(<?php
    foreach (explode("\n", rtrim(file_get_contents('php://input'), "\n")) as $h) {
      $s = hex2bin($h);
      echo bin2hex(htmlspecialchars($s, ENT_XML1 | ENT_COMPAT | ENT_DISALLOWED)), ' ',
           bin2hex(substr(json_encode($s, JSON_INVALID_UTF8_IGNORE), 1, -1)), ' ',
           bin2hex(substr(json_encode($s, JSON_INVALID_UTF8_IGNORE | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), 1, -1)),
           "\n";
    })");
  Params p = Base(script, "POST");
  p.emplace_back("CONTENT_TYPE", "application/octet-stream");
  p.emplace_back("CONTENT_LENGTH", std::to_string(body.size()));
  MemoryExchange ex(p, body);
  ExecuteRequest(ex);
  const std::string out = ex.Body();
  size_t at = 0;
  size_t checked = 0;
  for (const std::string& s : inputs) {
    const size_t nl = out.find('\n', at);
    REQUIRE(nl != std::string::npos);
    const std::string line = out.substr(at, nl - at);
    at = nl + 1;
    const std::string ours = Hex(status::EscapeXml(s)) + " " +
                             Hex(status::EscapeJson(s, status::JsonSlashes::kEscaped, status::JsonUnicode::kEscaped)) +
                             " " +
                             Hex(status::EscapeJson(s, status::JsonSlashes::kUnescaped,
                                                    status::JsonUnicode::kUnescaped));
    CAPTURE(Hex(s));
    CHECK(line == ours);
    ++checked;
  }
  CHECK(checked == inputs.size());
  CHECK(at == out.size());
}

}  // namespace
}  // namespace tfpm::sapi
