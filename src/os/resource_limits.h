// The daemon's descriptor limit (RLIMIT_NOFILE), set once at start; the
// workers inherit it.
#pragma once

#include <cstdint>

#include "base/status.h"

namespace tfpm::os {

// files == 0: raises the soft limit to the hard limit (a daemon started
// from a shell or by systemd otherwise inherits a soft limit of 1024).
// files > 0: sets soft and hard to `files`, as php-fpm's rlimit_files does
// (raising the hard limit needs CAP_SYS_RESOURCE). On success *soft is the
// soft limit now in force.
Status SetFileLimit(uint64_t files, uint64_t* soft);

// The soft RLIMIT_NOFILE now in force (a large number if unlimited).
uint64_t SoftFileLimit();

}  // namespace tfpm::os
