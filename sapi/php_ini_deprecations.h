// The php.ini settings a php.ini written for PHP 8.2 (Debian 12's) may carry
// that PHP 8.3 or 8.4 deprecated or removed, each checked against PHP
// 8.4.24's source (the message PHP emits, or the missing INI entry) and its
// UPGRADING notes. PHP's own startup message names neither the file nor the
// line; ours does, once per pool start, and says what to do. Nothing here
// is fatal: PHP still applies (or ignores) the value as before.
//
// Plain C++ (no PHP headers): unit-tested without a PHP runtime.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tfpm::sapi {

// A setting a file set (only those IsDeprecatedIniKey() names are kept).
struct IniSetting {
  std::string key;
  std::string value;  // as PHP's INI parser passed it (On -> "1", Off -> "")
  std::string file;
  int line = 0;
};

// Whether `key` is one of the settings below (exact case, as PHP looks
// INI names up).
bool IsDeprecatedIniKey(std::string_view key);

// "deprecated in PHP 8.4: ...; remove the line ..." when `value` is one PHP
// 8.4 deprecates (or the setting is gone), nullopt when it is fine (e.g.
// session.sid_length = 32, assert.active = 1).
std::optional<std::string> IniDeprecation(std::string_view key, std::string_view value);

// One line per deprecated setting, in file order:
// "php.ini /etc/php/8.2/fpm/php.ini:1500: session.sid_length = 26: deprecated in PHP 8.4 ...".
// A key set again later in the files (PHP keeps the last value) is judged
// by each line, since each line is one for the operator to edit.
std::vector<std::string> IniDeprecationLines(const std::vector<IniSetting>& settings);

// The setting a PHP startup message is about ("PHP Startup: session.sid_length
// INI setting is deprecated", "Disabling session.use_only_cookies INI setting
// is deprecated"), or "" when it is none of ours.
std::string_view DeprecatedKeyInMessage(std::string_view message);

}  // namespace tfpm::sapi
