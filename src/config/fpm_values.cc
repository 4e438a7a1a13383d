#include "config/fpm_values.h"

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace tfpm::config::fpm {
namespace {

using VK = ValueKind;

// php-fpm's integer check, with its messages; nullptr = acceptable.
const char* CheckInt(std::string_view v) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (i == 0 && v[i] == '-') continue;
    if (v[i] < '0' || v[i] > '9') return "is not a valid number (greater or equal than zero)";
  }
  return ParseIntValue(v) ? nullptr : "is out of range";
}

const char* CheckOneOf(std::string_view v, std::initializer_list<std::string_view> names, const char* error) {
  for (std::string_view name : names) {
    if (EqualsNoCase(v, name)) return nullptr;
  }
  return error;
}

}  // namespace

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::optional<int> ParseIntValue(std::string_view v) {
  errno = 0;
  const std::string s(v);
  char* end = nullptr;
  const long long n = std::strtoll(s.c_str(), &end, 10);
  if (errno == ERANGE || n > INT_MAX || n < INT_MIN) return std::nullopt;
  return static_cast<int>(n);
}

int ToInt(std::string_view v) { return ParseIntValue(v).value_or(0); }

std::optional<long> ToSeconds(std::string_view v, const char** error) {
  if (v.empty()) {
    *error = "invalid time value";
    return std::nullopt;
  }
  const char suffix = v.back();
  long factor = 1;
  std::string digits(v);
  switch (suffix) {
    case 's': digits.pop_back(); break;
    case 'm': factor = 60; digits.pop_back(); break;
    case 'h': factor = 3600; digits.pop_back(); break;
    case 'd': factor = 86400; digits.pop_back(); break;
    default:
      if (suffix < '0' || suffix > '9') {
        *error = "unknown suffix used in time value";
        return std::nullopt;
      }
  }
  // At most ~68 years of seconds: anything longer is a typo (tfpm's own
  // limits are far lower and say so).
  constexpr long long kMaxSeconds = INT_MAX;
  errno = 0;
  const long long n = std::strtoll(digits.c_str(), nullptr, 10);
  if (errno == ERANGE || n > kMaxSeconds / factor || n < -kMaxSeconds / factor) {
    *error = "is out of range";
    return std::nullopt;
  }
  return static_cast<long>(n * factor);
}

std::optional<bool> ToBool(std::string_view v) {
  if (v == "1" || v == "yes" || v == "true" || v == "on") return true;
  if (v.empty() || v == "0" || v == "no" || v == "none" || v == "false" || v == "off") return false;
  return std::nullopt;
}

const char* CheckValue(ValueKind kind, std::string_view v) {
  switch (kind) {
    case VK::kInt: return CheckInt(v);
    case VK::kTime: {
      const char* error = nullptr;
      return ToSeconds(v, &error) ? nullptr : error;
    }
    case VK::kBool: return ToBool(v) ? nullptr : "invalid boolean value";
    case VK::kLogLevel:
      return CheckOneOf(v, {"debug", "notice", "warning", "warn", "error", "alert"}, "invalid value for 'log_level'");
    case VK::kPm:
      return CheckOneOf(v, {"static", "dynamic", "ondemand"},
                        "invalid process manager (static, dynamic or ondemand)");
    case VK::kRlimitCore:
      if (EqualsNoCase(v, "unlimited")) return nullptr;
      if (const char* e = CheckInt(v)) return e;
      return ToInt(v) < 0 ? "must be greater than zero or 'unlimited'" : nullptr;
    default: return nullptr;
  }
}

std::string RlimitCore(std::string_view v) {
  return EqualsNoCase(v, "unlimited") ? "unlimited" : std::to_string(ToInt(v));
}

std::string ExpandPool(std::string_view v, std::string_view pool) {
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    if (v.compare(i, 5, "$pool") == 0) {
      out += pool;
      i += 5;
    } else {
      out += v[i++];
    }
  }
  return out;
}

}  // namespace tfpm::config::fpm
