// Who a process is and what it may do: users and groups, resource limits,
// chroot, dumpability, the parent-death signal. The system calls a worker
// makes to confine itself before PHP starts (worker/confine.h decides their
// order) go through the Credentials interface, so that order is unit-tested
// with a fake (tests/fakes/fake_credentials.h); SystemCredentials makes the
// real calls.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace tfpm::os {

// A user as the worker becomes it.
struct Identity {
  std::string name;     // from the password database ("" if a numeric id has no entry)
  std::string home;     // its home directory ("" likewise)
  uid_t uid = 0;
  gid_t gid = 0;                // primary group: `group` if given, else the user's
  std::vector<gid_t> groups;    // supplementary groups (initgroups: the user's groups + gid)
};

// Resolves `user` (a name or a numeric id) and `group` ("" = the user's
// primary group; else a name or a numeric id) as php-fpm does, with the
// supplementary groups initgroups() would set. An unknown name is an error
// ("no such user www-dat"); a numeric id needs no entry (then the primary
// group is the uid's number only if `group` is empty and the id has an
// entry, else an error).
Result<Identity> LookupIdentity(const std::string& user, const std::string& group);

// RLIMIT_* values for SetResourceLimit.
enum class Resource { kFiles, kCore };
inline constexpr uint64_t kUnlimited = ~uint64_t{0};

class Credentials {
 public:
  virtual ~Credentials() = default;

  virtual uid_t EffectiveUid() const = 0;
  // Soft and hard limit to `value` (kUnlimited = RLIM_INFINITY).
  virtual Status SetResourceLimit(Resource resource, uint64_t value) = 0;
  virtual Status SetPriority(int nice) = 0;
  virtual Status ChangeRoot(const std::string& dir) = 0;
  virtual Status ChangeDirectory(const std::string& dir) = 0;
  virtual Status SetGroups(const std::vector<gid_t>& groups) = 0;
  virtual Status SetGid(gid_t gid) = 0;  // real, effective and saved
  virtual Status SetUid(uid_t uid) = 0;  // real, effective and saved
  // What the process is now.
  virtual void Current(uid_t* ruid, uid_t* euid, uid_t* suid, gid_t* rgid, gid_t* egid, gid_t* sgid,
                       std::vector<gid_t>* groups) const = 0;
  // true if setuid(0) succeeds (it must not, after a drop).
  virtual bool CanBecomeRoot() = 0;
  virtual Status SetDumpable(bool dumpable) = 0;
  virtual Status SetParentDeathSignal(int signo) = 0;
  virtual pid_t ParentPid() const = 0;
};

class SystemCredentials final : public Credentials {
 public:
  uid_t EffectiveUid() const override;
  Status SetResourceLimit(Resource resource, uint64_t value) override;
  Status SetPriority(int nice) override;
  Status ChangeRoot(const std::string& dir) override;
  Status ChangeDirectory(const std::string& dir) override;
  Status SetGroups(const std::vector<gid_t>& groups) override;
  Status SetGid(gid_t gid) override;
  Status SetUid(uid_t uid) override;
  void Current(uid_t* ruid, uid_t* euid, uid_t* suid, gid_t* rgid, gid_t* egid, gid_t* sgid,
               std::vector<gid_t>* groups) const override;
  bool CanBecomeRoot() override;
  Status SetDumpable(bool dumpable) override;
  Status SetParentDeathSignal(int signo) override;
  pid_t ParentPid() const override;
};

}  // namespace tfpm::os
