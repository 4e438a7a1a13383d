#include "sapi/php_ini_deprecations.h"

#include <strings.h>

#include <cstdlib>

#include "base/utf8.h"

namespace tfpm::sapi {
namespace {

// zend_ini_parse_bool(): "true", "yes", "on" (any case) or a non-zero number.
bool IniBool(std::string_view v) {
  auto is = [&](std::string_view word) {
    return v.size() == word.size() && strncasecmp(v.data(), word.data(), v.size()) == 0;
  };
  if (is("true") || is("yes") || is("on")) return true;
  return std::strtoll(std::string(v).c_str(), nullptr, 10) != 0;
}

long IniLong(std::string_view v) { return std::strtol(std::string(v).c_str(), nullptr, 10); }

enum class When { kAlways, kNot32, kNot4, kFalse, kTrue, kNonEmpty, kNotDefaultTags };

struct Rule {
  std::string_view key;
  When when;
  std::string_view what;  // since when, and what to do
};

// PHP 8.4.24 source: ext/session/session.c (OnUpdateSidLength & co emit
// E_DEPRECATED for exactly these values), ext/standard/assert.c (PHP 8.3,
// same), ext/standard/url_scanner_ex.re (trans_sid_tags/hosts: UPGRADING
// 8.4 deprecates changing them; PHP 8.4.24 itself says nothing), and
// opcache.consistency_checks, which PHP 8.2 has and 8.4 no longer defines
// (removed in 8.3: the value is ignored).
constexpr Rule kRules[] = {
    {"session.sid_length", When::kNot32,
     "deprecated in PHP 8.4 (session IDs are 32 characters); remove the line once the session storage accepts "
     "32-character IDs"},
    {"session.sid_bits_per_character", When::kNot4,
     "deprecated in PHP 8.4 (session IDs are hexadecimal, 4 bits per character); remove the line"},
    {"session.use_only_cookies", When::kFalse,
     "disabling it is deprecated in PHP 8.4 (session IDs in URLs go away); remove the line"},
    {"session.use_trans_sid", When::kTrue,
     "enabling it is deprecated in PHP 8.4 (session IDs in URLs go away); remove the line"},
    {"session.referer_check", When::kNonEmpty, "deprecated in PHP 8.4; remove the line"},
    {"session.trans_sid_tags", When::kNotDefaultTags,
     "changing it is deprecated in PHP 8.4 (UPGRADING; session IDs in URLs go away); remove the line"},
    {"session.trans_sid_hosts", When::kNonEmpty,
     "changing it is deprecated in PHP 8.4 (UPGRADING; session IDs in URLs go away); remove the line"},
    {"assert.active", When::kFalse, "deprecated in PHP 8.3; set zend.assertions instead and remove the line"},
    {"assert.bail", When::kTrue, "deprecated in PHP 8.3; remove the line"},
    {"assert.callback", When::kNonEmpty, "deprecated in PHP 8.3; remove the line"},
    {"assert.exception", When::kFalse, "deprecated in PHP 8.3 (assert() throws); remove the line"},
    {"assert.warning", When::kFalse, "deprecated in PHP 8.3; remove the line"},
    {"opcache.consistency_checks", When::kAlways, "removed in PHP 8.3: ignored; remove the line"},
};

const Rule* Find(std::string_view key) {
  for (const Rule& r : kRules) {
    if (r.key == key) return &r;  // PHP's INI names are case-sensitive
  }
  return nullptr;
}

std::string Cut(std::string_view s) {
  constexpr size_t kMax = 200;
  std::string out = base::EscapeForLog(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  return out;
}

}  // namespace

bool IsDeprecatedIniKey(std::string_view key) { return Find(key) != nullptr; }

std::optional<std::string> IniDeprecation(std::string_view key, std::string_view value) {
  const Rule* r = Find(key);
  if (r == nullptr) return std::nullopt;
  bool hit = false;
  switch (r->when) {
    case When::kAlways: hit = true; break;
    case When::kNot32: hit = IniLong(value) != 32; break;
    case When::kNot4: hit = IniLong(value) != 4; break;
    case When::kFalse: hit = !IniBool(value); break;
    case When::kTrue: hit = IniBool(value); break;
    case When::kNonEmpty: hit = !value.empty(); break;
    case When::kNotDefaultTags: hit = value != "a=href,area=href,frame=src,form="; break;
  }
  if (!hit) return std::nullopt;
  return std::string(r->what);
}

std::vector<std::string> IniDeprecationLines(const std::vector<IniSetting>& settings) {
  std::vector<std::string> out;
  for (const IniSetting& s : settings) {
    auto what = IniDeprecation(s.key, s.value);
    if (!what) continue;
    out.push_back("php.ini " + Cut(s.file) + ":" + std::to_string(s.line) + ": " + Cut(s.key) + " = " +
                  Cut(s.value) + ": " + *what);
  }
  return out;
}

std::string_view DeprecatedKeyInMessage(std::string_view message) {
  for (const Rule& r : kRules) {
    const size_t at = message.find(r.key);
    if (at == std::string_view::npos) continue;
    const std::string_view rest = message.substr(at + r.key.size());
    if (rest.starts_with(" INI setting")) return r.key;
  }
  return {};
}

}  // namespace tfpm::sapi
