// os::Credentials in memory: records each call as a line ("setuid 33") and
// keeps the ids a real process would have, so worker::Confine's order and
// checks are tested without root. `fail` names a call that returns EPERM;
// `ignore_saved_uid` makes SetUid leave the saved uid at 0 (a broken
// setuid that could be undone); `ignore_setgroups` leaves the groups;
// `can_become_root` what setuid(0) does.
#pragma once

#include <cerrno>
#include <string>
#include <vector>

#include "os/credentials.h"

namespace tfpm::testing {

class FakeCredentials final : public os::Credentials {
 public:
  std::vector<std::string> calls;
  std::string fail;                 // e.g. "setgid": that call fails with EPERM
  bool ignore_saved_uid = false;
  bool ignore_setgroups = false;   // setgroups "succeeds" but changes nothing
  bool can_become_root = false;
  pid_t parent = 100;
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  std::vector<gid_t> groups = {0};

  uid_t EffectiveUid() const override { return euid; }
  Status SetResourceLimit(os::Resource r, uint64_t value) override {
    return Call(std::string(r == os::Resource::kFiles ? "rlimit files " : "rlimit core ") +
                (value == os::kUnlimited ? "unlimited" : std::to_string(value)));
  }
  Status SetPriority(int nice) override { return Call("priority " + std::to_string(nice)); }
  Status ChangeRoot(const std::string& dir) override { return Call("chroot " + dir); }
  Status ChangeDirectory(const std::string& dir) override { return Call("chdir " + dir); }
  Status SetGroups(const std::vector<gid_t>& g) override {
    std::string line = "setgroups";
    for (gid_t x : g) line += " " + std::to_string(x);
    Status st = Call(line);
    if (st.ok() && !ignore_setgroups) groups = g;
    return st;
  }
  Status SetGid(gid_t gid) override {
    Status st = Call("setgid " + std::to_string(gid));
    if (st.ok()) rgid = egid = sgid = gid;
    return st;
  }
  Status SetUid(uid_t uid) override {
    Status st = Call("setuid " + std::to_string(uid));
    if (st.ok()) {
      ruid = euid = uid;
      if (!ignore_saved_uid) suid = uid;
    }
    return st;
  }
  void Current(uid_t* r, uid_t* e, uid_t* s, gid_t* rg, gid_t* eg, gid_t* sg,
               std::vector<gid_t>* g) const override {
    *r = ruid, *e = euid, *s = suid, *rg = rgid, *eg = egid, *sg = sgid, *g = groups;
  }
  bool CanBecomeRoot() override {
    calls.push_back("try setuid 0");
    return can_become_root || suid == 0;
  }
  Status SetDumpable(bool d) override { return Call(std::string("dumpable ") + (d ? "1" : "0")); }
  Status SetParentDeathSignal(int signo) override { return Call("pdeathsig " + std::to_string(signo)); }
  pid_t ParentPid() const override { return parent; }

 private:
  Status Call(std::string line) {
    const bool failing = !fail.empty() && line.rfind(fail, 0) == 0;
    calls.push_back(std::move(line));
    if (failing) return ErrnoStatus(fail, EPERM);
    return Status::Ok();
  }
};

}  // namespace tfpm::testing
