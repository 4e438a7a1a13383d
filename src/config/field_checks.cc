#include "config/field_checks.h"

#include <charconv>

#include "base/client_filter.h"
#include "config/config.h"

namespace tfpm::config::fields {

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

const char* NonEmpty(std::string_view s) { return s.empty() ? "must not be empty" : nullptr; }

const char* AbsolutePath(std::string_view s) {
  return s.empty() || s.front() != '/' ? "must be an absolute path" : nullptr;
}

const char* AbsolutePathIfSet(std::string_view s) {
  return !s.empty() && s.front() != '/' ? "must be an absolute path" : nullptr;
}

const char* UriPathIfSet(std::string_view s) {
  return !s.empty() && s.front() != '/' ? "must start with '/'" : nullptr;
}

const char* UriPath(std::string_view s) {
  return s.empty() || s.front() != '/' ? "must start with '/'" : nullptr;
}

const char* Extension(std::string_view s) {
  return s.size() < 2 || s.front() != '.' ? "must start with '.'" : nullptr;
}

const char* EnvName(std::string_view s) {
  if (s.empty()) return "must not be empty";
  return s.find('=') != std::string_view::npos ? "must not contain '='" : nullptr;
}

// PHP takes the code paths of its console SAPIs when sapi_module.name is
// one of theirs (output to the terminal, opcache.enable_cli, readline,
// STDIN/STDOUT constants...): a pool that serves requests never claims one.
const char* SapiName(std::string_view s) {
  if (s.empty()) return "must not be empty";
  static constexpr std::string_view kReserved[] = {"cli", "cli-server", "phpdbg", "embed", "cgi"};
  for (std::string_view r : kReserved) {
    if (s == r) return "must not be the name of a console SAPI (cli, cli-server, phpdbg, embed, cgi)";
  }
  return nullptr;
}

const char* RlimitCore(std::string_view s) {
  if (s == "unlimited" || (IsDigits(s) && s.size() <= 18)) return nullptr;
  return "must be a number of bytes (0 = unchanged) or unlimited";
}

uint64_t RlimitCoreValue(std::string_view s) {
  if (s == "unlimited") return kRlimitUnlimited;
  uint64_t n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

const char* Principal(std::string_view s) {
  for (char c : s) {
    if (c == ':' || c == '\n' || c == '\0' || c == '/') return "must be a user or group name or a numeric id";
  }
  return nullptr;
}

const char* ClientEntry(std::string_view s) { return base::ClientFilter::EntryError(s); }

bool IsPoolName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace tfpm::config::fields
