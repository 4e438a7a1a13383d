// How a worker process confines itself before PHP's MINIT (before PHP reads
// any file a pool's user could have written): resource limits, priority,
// chroot + chdir, then the switch to the pool's user — supplementary groups,
// group, user, in that order — checked afterwards (the ids are the user's
// in all three slots, the groups are the user's, and setuid(0) fails), then
// the dumpable flag and the parent-death signal, which the kernel cleared
// when the uid changed, set again with the parent re-checked: a worker
// whose supervisor died meanwhile exits instead of serving orphaned.
//
// Pure order and checks over os::Credentials (unit-tested with a fake);
// php-fpm's fpm_unix_init_child does the same steps, except that it calls
// initgroups() after chroot (reading the chroot's /etc/group) and never
// checks the result.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"
#include "os/credentials.h"

namespace tfpm::worker {

struct ConfinePlan {
  uint64_t rlimit_files = 0;  // 0 = unchanged
  uint64_t rlimit_core = 0;   // 0 = unchanged; os::kUnlimited
  std::optional<int> priority;         // root only
  std::string chroot;                  // "" = none; root only
  std::string chdir;                   // "" = none ("/" after a chroot); inside the chroot
  std::optional<os::Identity> user;    // switch to it; root only
  bool dumpable = false;               // process_dumpable
  int parent_death_signal = 0;         // re-armed after the switch; 0 = none
  pid_t parent = 0;                    // the supervisor, re-checked with it; 0 = none
};

struct ConfineResult {
  bool switched = false;   // the process changed its user
  bool ignored = false;    // user/group/chroot/priority ignored: not root (php-fpm's notice)
};

// Applies `plan` through `sys`. Any failure is returned naming the step
// ("setresuid(33): Operation not permitted"); the caller must then exit
// without running PHP.
Result<ConfineResult> Confine(const ConfinePlan& plan, os::Credentials& sys);

}  // namespace tfpm::worker
