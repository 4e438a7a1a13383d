#include "os/credentials.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

namespace tfpm::os {
namespace {

bool NumericId(std::string_view s, unsigned long* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Result<Identity> LookupIdentity(const std::string& user, const std::string& group) {
  Identity id;
  unsigned long number = 0;
  const passwd* pw = nullptr;
  errno = 0;
  if (NumericId(user, &number)) {
    id.uid = static_cast<uid_t>(number);
    pw = ::getpwuid(id.uid);
  } else {
    pw = ::getpwnam(user.c_str());
    if (pw == nullptr) {
      return Status::InvalidArgument("no such user " + user + (errno != 0 ? std::string(" (") + std::strerror(errno) + ")" : ""));
    }
    id.uid = pw->pw_uid;
  }
  bool have_gid = false;
  if (pw != nullptr) {
    id.name = pw->pw_name;
    id.home = pw->pw_dir;
    id.gid = pw->pw_gid;
    have_gid = true;
  }
  if (!group.empty()) {
    if (NumericId(group, &number)) {
      id.gid = static_cast<gid_t>(number);
    } else {
      const struct group* gr = ::getgrnam(group.c_str());
      if (gr == nullptr) return Status::InvalidArgument("no such group " + group);
      id.gid = gr->gr_gid;
    }
    have_gid = true;
  }
  if (!have_gid) {
    return Status::InvalidArgument("user id " + user + " has no entry in the password database; name a group too");
  }
  if (id.name.empty()) {
    id.groups = {id.gid};
    return id;
  }
  // initgroups(name, gid): the groups listing the user, plus gid.
  int n = 32;
  for (int attempt = 0; attempt < 8; ++attempt) {
    id.groups.resize(static_cast<size_t>(n));
    int count = n;
    if (::getgrouplist(id.name.c_str(), id.gid, id.groups.data(), &count) >= 0) {
      id.groups.resize(static_cast<size_t>(count));
      return id;
    }
    n = count > n ? count : n * 2;
  }
  return Status::IoError("getgrouplist(" + id.name + "): too many groups");
}

uid_t SystemCredentials::EffectiveUid() const { return ::geteuid(); }

Status SystemCredentials::SetResourceLimit(Resource resource, uint64_t value) {
  rlimit rl{};
  rl.rlim_cur = rl.rlim_max = value == kUnlimited ? RLIM_INFINITY : static_cast<rlim_t>(value);
  const int which = resource == Resource::kFiles ? RLIMIT_NOFILE : RLIMIT_CORE;
  const char* name = resource == Resource::kFiles ? "RLIMIT_NOFILE" : "RLIMIT_CORE";
  if (::setrlimit(which, &rl) != 0) {
    return ErrnoStatus(std::string("setrlimit(") + name + ", " +
                           (value == kUnlimited ? std::string("unlimited") : std::to_string(value)) + ")",
                       errno);
  }
  return Status::Ok();
}

Status SystemCredentials::SetPriority(int nice) {
  if (::setpriority(PRIO_PROCESS, 0, nice) != 0) return ErrnoStatus("setpriority(" + std::to_string(nice) + ")", errno);
  return Status::Ok();
}

Status SystemCredentials::ChangeRoot(const std::string& dir) {
  if (::chroot(dir.c_str()) != 0) return ErrnoStatus("chroot(" + dir + ")", errno);
  return Status::Ok();
}

Status SystemCredentials::ChangeDirectory(const std::string& dir) {
  if (::chdir(dir.c_str()) != 0) return ErrnoStatus("chdir(" + dir + ")", errno);
  return Status::Ok();
}

Status SystemCredentials::SetGroups(const std::vector<gid_t>& groups) {
  if (::setgroups(groups.size(), groups.data()) != 0) return ErrnoStatus("setgroups", errno);
  return Status::Ok();
}

Status SystemCredentials::SetGid(gid_t gid) {
  if (::setresgid(gid, gid, gid) != 0) return ErrnoStatus("setresgid(" + std::to_string(gid) + ")", errno);
  return Status::Ok();
}

Status SystemCredentials::SetUid(uid_t uid) {
  if (::setresuid(uid, uid, uid) != 0) return ErrnoStatus("setresuid(" + std::to_string(uid) + ")", errno);
  return Status::Ok();
}

void SystemCredentials::Current(uid_t* ruid, uid_t* euid, uid_t* suid, gid_t* rgid, gid_t* egid, gid_t* sgid,
                                std::vector<gid_t>* groups) const {
  ::getresuid(ruid, euid, suid);
  ::getresgid(rgid, egid, sgid);
  const int n = ::getgroups(0, nullptr);
  groups->assign(n > 0 ? static_cast<size_t>(n) : 0, 0);
  if (n > 0) {
    const int got = ::getgroups(n, groups->data());
    groups->resize(got > 0 ? static_cast<size_t>(got) : 0);
  }
}

bool SystemCredentials::CanBecomeRoot() {
  // The only way to know: try. If it works, the caller fails the process.
  return ::setuid(0) == 0;
}

Status SystemCredentials::SetDumpable(bool dumpable) {
  if (::prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0, 0, 0, 0) != 0) return ErrnoStatus("prctl(PR_SET_DUMPABLE)", errno);
  return Status::Ok();
}

Status SystemCredentials::SetParentDeathSignal(int signo) {
  if (::prctl(PR_SET_PDEATHSIG, signo, 0, 0, 0) != 0) return ErrnoStatus("prctl(PR_SET_PDEATHSIG)", errno);
  return Status::Ok();
}

pid_t SystemCredentials::ParentPid() const { return ::getppid(); }

}  // namespace tfpm::os
