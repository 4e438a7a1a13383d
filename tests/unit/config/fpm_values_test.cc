// php-fpm's value readers (config/fpm_values.h) on their own: each kind's
// accepted text and php-fpm's complaint for the rest.
#include "config/fpm_values.h"

#include <doctest/doctest.h>

#include <string>

namespace tfpm::config::fpm {
namespace {

std::string Check(ValueKind kind, std::string_view v) {
  const char* why = CheckValue(kind, v);
  return why == nullptr ? "ok" : why;
}

TEST_CASE("fpm values: integers as php-fpm reads them") {
  CHECK(Check(ValueKind::kInt, "42") == "ok");
  CHECK(Check(ValueKind::kInt, "-1") == "ok");
  CHECK(Check(ValueKind::kInt, "") == "ok");  // php-fpm's atoi("") = 0
  CHECK(Check(ValueKind::kInt, "4x") == "is not a valid number (greater or equal than zero)");
  CHECK(Check(ValueKind::kInt, "1-") == "is not a valid number (greater or equal than zero)");
  CHECK(Check(ValueKind::kInt, "2147483648") == "is out of range");
  CHECK(ToInt("2147483647") == 2147483647);
  CHECK(ToInt("abc") == 0);
}

TEST_CASE("fpm values: times with php-fpm's suffixes") {
  const char* error = nullptr;
  CHECK(ToSeconds("10", &error) == 10);
  CHECK(ToSeconds("10s", &error) == 10);
  CHECK(ToSeconds("2m", &error) == 120);
  CHECK(ToSeconds("3h", &error) == 10800);
  CHECK(ToSeconds("1d", &error) == 86400);
  CHECK_FALSE(ToSeconds("5x", &error));
  CHECK(std::string(error) == "unknown suffix used in time value");
  CHECK_FALSE(ToSeconds("", &error));
  CHECK(std::string(error) == "invalid time value");
  CHECK_FALSE(ToSeconds("999999999h", &error));
  CHECK(std::string(error) == "is out of range");
  CHECK(Check(ValueKind::kTime, "5x") == "unknown suffix used in time value");
}

TEST_CASE("fpm values: booleans, log levels, pm, rlimit_core") {
  CHECK(ToBool("on") == true);
  CHECK(ToBool("") == false);
  CHECK(ToBool("none") == false);
  CHECK_FALSE(ToBool("On"));  // php-fpm compares these case-sensitively
  CHECK(Check(ValueKind::kBool, "maybe") == "invalid boolean value");
  CHECK(Check(ValueKind::kLogLevel, "WARN") == "ok");
  CHECK(Check(ValueKind::kLogLevel, "info") == "invalid value for 'log_level'");
  CHECK(Check(ValueKind::kPm, "OnDemand") == "ok");
  CHECK(Check(ValueKind::kPm, "auto") == "invalid process manager (static, dynamic or ondemand)");
  CHECK(Check(ValueKind::kRlimitCore, "Unlimited") == "ok");
  CHECK(Check(ValueKind::kRlimitCore, "-5") == "must be greater than zero or 'unlimited'");
  CHECK(Check(ValueKind::kRlimitCore, "5k") == "is not a valid number (greater or equal than zero)");
  CHECK(RlimitCore("UNLIMITED") == "unlimited");
  CHECK(RlimitCore("100") == "100");
  CHECK(Check(ValueKind::kString, "anything") == "ok");
}

TEST_CASE("fpm values: $pool and case-insensitive names") {
  CHECK(ExpandPool("/run/$pool.sock", "www") == "/run/www.sock");
  CHECK(ExpandPool("$pool$pool", "a") == "aa");
  CHECK(ExpandPool("$poo", "a") == "$poo");
  CHECK(EqualsNoCase("PM.Max_Children", "pm.max_children"));
  CHECK_FALSE(EqualsNoCase("pm", "pm.x"));
}

}  // namespace
}  // namespace tfpm::config::fpm
