#include "config/extension_policy.h"

#include <strings.h>

namespace tfpm::config {
namespace {

constexpr UnsafeExtension kUnsafe[] = {
    {"imap", "not thread-safe; PHP's manual: \"it should not be used with ZTS builds\" (php.net/intro.imap)"},
    {"newrelic", "not thread-safe (FrankenPHP's known issues: frankenphp.dev/docs/known-issues)"},
    {"pcov", "not thread-safe, crashes in threaded SAPIs (FrankenPHP's known issues)"},
};

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::span<const UnsafeExtension> ThreadUnsafeExtensions() { return kUnsafe; }

Status CheckExtensionsForThreads(std::span<const std::string> loaded_modules, int threads,
                                 std::string_view where) {
  if (threads <= 1) return Status::Ok();
  for (const std::string& module : loaded_modules) {
    for (const UnsafeExtension& u : kUnsafe) {
      if (SameName(module, u.name)) {
        return Status::InvalidArgument(std::string(where) + ": extension " + module + " is " +
                                       std::string(u.reason) + "; it can run only with threads: 1 " +
                                       "(and more processes), or remove it from php.ini/conf.d");
      }
    }
  }
  return Status::Ok();
}

}  // namespace tfpm::config
