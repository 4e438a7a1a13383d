// php-fpm's value readers (fpm_conf_set_* in php-fpm), used by the importer
// (fpm_map.cc): each checks a directive's text the way php-fpm does and
// returns php-fpm's own complaint, or converts text already checked.
// Internal to the fpm_* files; no YAML, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/fpm_map.h"

namespace tfpm::config::fpm {

// ASCII case-insensitive equality (php-fpm compares directive names and
// enumerated values this way).
bool EqualsNoCase(std::string_view a, std::string_view b);

// A decimal that fits in an int (php-fpm's atoi() would wrap a larger one).
std::optional<int> ParseIntValue(std::string_view v);

// The value of `v` (only for text CheckValue accepted as kInt, or tfpm.*
// overrides: 0 when not a number).
int ToInt(std::string_view v);

// fpm_conf_set_time: digits with an optional s/m/h/d suffix -> seconds.
// On failure sets *error to php-fpm's message ("unknown suffix used in time
// value", "invalid time value", "is out of range").
std::optional<long> ToSeconds(std::string_view v, const char** error);

// php-fpm's booleans: 1/yes/true/on and ""/0/no/none/false/off.
std::optional<bool> ToBool(std::string_view v);

// nullptr if `v` is acceptable for `kind`, else php-fpm's complaint.
const char* CheckValue(ValueKind kind, std::string_view v);

// rlimit_core as tfpm's YAML takes it: "unlimited" or bytes.
std::string RlimitCore(std::string_view v);

// Every "$pool" in `v` becomes `pool`.
std::string ExpandPool(std::string_view v, std::string_view pool);

}  // namespace tfpm::config::fpm
