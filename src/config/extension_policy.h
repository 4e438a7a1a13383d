#pragma once
// Which PHP extensions may run with several PHP threads in one process.
// Pure: the worker checks its loaded modules after MINIT against this list.

#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace tfpm::config {

struct UnsafeExtension {
  std::string_view name;    // as `tfpm -m` lists it (case-insensitive match)
  std::string_view reason;  // with its source
};

// Extensions documented as unsafe with threads.
std::span<const UnsafeExtension> ThreadUnsafeExtensions();

// Ok, or why a process with `threads` PHP threads must not run with these
// modules loaded (an unsafe extension is allowed only with threads == 1).
// `where` prefixes the message ("pool www").
Status CheckExtensionsForThreads(std::span<const std::string> loaded_modules, int threads,
                                 std::string_view where);

}  // namespace tfpm::config
