#include "worker/confine.h"

#include <algorithm>
#include <vector>

namespace tfpm::worker {
namespace {

std::vector<gid_t> Sorted(std::vector<gid_t> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// After the switch: every id slot holds the user's ids, the groups are the
// user's, and root cannot be regained.
Status Verify(const os::Identity& user, os::Credentials& sys) {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  std::vector<gid_t> groups;
  sys.Current(&ruid, &euid, &suid, &rgid, &egid, &sgid, &groups);
  if (ruid != user.uid || euid != user.uid || suid != user.uid) {
    return Status::Aborted("after the user switch the uids are " + std::to_string(ruid) + "/" +
                            std::to_string(euid) + "/" + std::to_string(suid) + ", not " +
                            std::to_string(user.uid));
  }
  if (rgid != user.gid || egid != user.gid || sgid != user.gid) {
    return Status::Aborted("after the user switch the gids are " + std::to_string(rgid) + "/" +
                            std::to_string(egid) + "/" + std::to_string(sgid) + ", not " +
                            std::to_string(user.gid));
  }
  if (Sorted(groups) != Sorted(user.groups)) {
    return Status::Aborted("after the user switch the supplementary groups are not the user's");
  }
  if (user.uid != 0 && sys.CanBecomeRoot()) {
    return Status::Aborted("setuid(0) succeeded after the user switch: root could be regained");
  }
  return Status::Ok();
}

}  // namespace

Result<ConfineResult> Confine(const ConfinePlan& plan, os::Credentials& sys) {
  ConfineResult result;
  // Limits first, while still root: raising a hard limit needs it.
  if (plan.rlimit_files != 0) {
    if (Status st = sys.SetResourceLimit(os::Resource::kFiles, plan.rlimit_files); !st.ok()) return st;
  }
  if (plan.rlimit_core != 0) {
    if (Status st = sys.SetResourceLimit(os::Resource::kCore, plan.rlimit_core); !st.ok()) return st;
  }
  const bool root = sys.EffectiveUid() == 0;
  result.ignored = !root && (plan.user || plan.priority || !plan.chroot.empty());
  if (root && plan.priority) {
    if (Status st = sys.SetPriority(*plan.priority); !st.ok()) return st;
  }
  // chroot while root; then chdir (relative to the new root): the
  // directory PHP starts in, and no way back out through the old cwd.
  const bool chrooted = root && !plan.chroot.empty();
  if (chrooted) {
    if (Status st = sys.ChangeRoot(plan.chroot); !st.ok()) return st;
  }
  if (!plan.chdir.empty() || chrooted) {
    if (Status st = sys.ChangeDirectory(plan.chdir.empty() ? "/" : plan.chdir); !st.ok()) return st;
  }
  if (root && plan.user) {
    // Groups before the uid: once the uid is not 0, neither can change.
    if (Status st = sys.SetGroups(plan.user->groups); !st.ok()) return st;
    if (Status st = sys.SetGid(plan.user->gid); !st.ok()) return st;
    if (Status st = sys.SetUid(plan.user->uid); !st.ok()) return st;
    if (Status st = Verify(*plan.user, sys); !st.ok()) return st;
    result.switched = plan.user->uid != 0;
  }
  // The uid change made the process non-dumpable (fs.suid_dumpable) and
  // cleared its parent-death signal: set both as configured.
  if (plan.dumpable || result.switched) {
    if (Status st = sys.SetDumpable(plan.dumpable); !st.ok()) return st;
  }
  if (plan.parent_death_signal != 0) {
    if (Status st = sys.SetParentDeathSignal(plan.parent_death_signal); !st.ok()) return st;
    // The supervisor may have died before the signal was armed again.
    if (plan.parent != 0 && sys.ParentPid() != plan.parent) {
      return Status::Aborted("the supervisor (pid " + std::to_string(plan.parent) + ") is gone");
    }
  }
  return result;
}

}  // namespace tfpm::worker
