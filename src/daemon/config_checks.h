// The checks of a loaded config that need the system (files, users), run
// at start, on reload and by `pm-ctl config-test`: config/validate.h has
// already checked every key's form. Messages name the place
// ("tfpm.yaml:12: pools.www.user: ...") and never show the values of
// ${VAR}s (config::HideEnvironment).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "config/config.h"

namespace tfpm::daemon {

enum class DryRun { kNo, kYes };

// A worker script must be readable, an access log must open (it is
// created if missing, as php-fpm's master does). With DryRun::kYes
// (pm-ctl config-test) nothing changes: an access log that does not exist
// yet is not created, its directory must be writable.
Status CheckFiles(const config::Config& cfg, DryRun dry_run);

// The pools' isolation keys (docs/security.md "Isolation"), as php-fpm
// checks them when it loads its config: under root every pool needs a
// `user` that exists (and is not root) unless `allow_root` (-R), and no
// pool's user may use the control socket; a chroot must be a directory,
// and chdir a directory inside it. Not root: user, group, chroot and
// process_priority are ignored, with a warning. Root or not: the names of
// listen_acl_users/listen_acl_groups must exist, and so must the confine
// paths (inside the chroot). Pools under different users with sockets
// every local process may use are warned about.
Status CheckIsolation(const config::Config& cfg, bool allow_root, std::vector<std::string>* warnings);

}  // namespace tfpm::daemon
