// Landlock (Linux >= 5.13): kernel-enforced filesystem confinement of the
// calling process, through the raw system calls (landlock_create_ruleset,
// landlock_add_rule, landlock_restrict_self). What a worker uses for a
// pool's `confine` (docs/security.md "Filesystem confinement").
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace tfpm::os {

// The Landlock ABI version the running kernel offers (1, 2, ...), or 0 when
// it has none; then *why says so ("the kernel has no Landlock support
// (ENOSYS)", "Landlock is disabled at boot (lsm=...)").
int LandlockAbi(std::string* why);

struct LandlockPaths {
  // Beneath each directory (or the file itself): read files, list
  // directories, execute.
  std::vector<std::string> read;
  // The same, and write, truncate, create, rename into and remove files,
  // directories, symlinks, sockets and FIFOs (never device nodes).
  std::vector<std::string> write;
};

// Restricts the calling thread, and every thread and process it creates
// afterwards, to `paths`: any other file access fails with EACCES. Sets
// no_new_privs first (required without CAP_SYS_ADMIN; setuid/setgid bits
// of programs the process runs are then ignored). Every right the kernel's
// ABI knows is handled, so nothing outside the rules stays allowed. A path
// that cannot be opened is an error naming it ("/srv/x: No such file or
// directory"). Irreversible; the caller must not start threads before it.
Status RestrictFileSystem(const LandlockPaths& paths);

}  // namespace tfpm::os
