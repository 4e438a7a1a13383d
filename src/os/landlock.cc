#include "os/landlock.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "os/unique_fd.h"

namespace tfpm::os {
namespace {

constexpr uint64_t kReadRights =
    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

// Everything ABI 1 handles, except device nodes.
constexpr uint64_t kWriteRightsV1 = kReadRights | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                                    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |
                                    LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
                                    LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM;

// The rights that apply to a file that is not a directory.
constexpr uint64_t kFileRights = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                 LANDLOCK_ACCESS_FS_READ_FILE
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
                                 | LANDLOCK_ACCESS_FS_TRUNCATE
#endif
#ifdef LANDLOCK_ACCESS_FS_IOCTL_DEV
                                 | LANDLOCK_ACCESS_FS_IOCTL_DEV
#endif
    ;

// All filesystem rights the ABI `abi` knows (each one handled: denied
// unless a rule grants it).
uint64_t HandledRights(int abi) {
  uint64_t rights = kWriteRightsV1 | LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK;
#ifdef LANDLOCK_ACCESS_FS_REFER
  if (abi >= 2) rights |= LANDLOCK_ACCESS_FS_REFER;
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
  if (abi >= 3) rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
#ifdef LANDLOCK_ACCESS_FS_IOCTL_DEV
  if (abi >= 5) rights |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
#endif
  return rights;
}

uint64_t WriteRights(int abi) {
  uint64_t rights = kWriteRightsV1;
#ifdef LANDLOCK_ACCESS_FS_REFER
  if (abi >= 2) rights |= LANDLOCK_ACCESS_FS_REFER;
#endif
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
  if (abi >= 3) rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
#ifdef LANDLOCK_ACCESS_FS_IOCTL_DEV
  if (abi >= 5) rights |= LANDLOCK_ACCESS_FS_IOCTL_DEV;  // e.g. a terminal or /dev/null
#endif
  return rights;
}

Status AddPath(int ruleset, const std::string& path, uint64_t rights) {
  UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) return ErrnoStatus(path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(path, errno);
  if (!S_ISDIR(st.st_mode)) rights &= kFileRights;
  landlock_path_beneath_attr attr{};
  attr.allowed_access = rights;
  attr.parent_fd = fd.get();
  if (::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) != 0) {
    return ErrnoStatus("landlock_add_rule(" + path + ")", errno);
  }
  return Status::Ok();
}

}  // namespace

int LandlockAbi(std::string* why) {
  const long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi > 0) return static_cast<int>(abi);
  const int err = errno;
  if (why != nullptr) {
    if (err == ENOSYS) {
      *why = "the kernel has no Landlock support (landlock_create_ruleset: ENOSYS; Linux >= 5.13 with "
             "CONFIG_SECURITY_LANDLOCK needed)";
    } else if (err == EOPNOTSUPP) {
      *why = "Landlock is disabled in this kernel (landlock_create_ruleset: EOPNOTSUPP; add landlock to the "
             "lsm= boot parameter)";
    } else {
      *why = std::string("landlock_create_ruleset: ") + std::strerror(err);
    }
  }
  return 0;
}

Status RestrictFileSystem(const LandlockPaths& paths) {
  std::string why;
  const int abi = LandlockAbi(&why);
  if (abi == 0) return Status::IoError(why);
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = HandledRights(abi);
  UniqueFd ruleset(static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0)));
  if (!ruleset) return ErrnoStatus("landlock_create_ruleset", errno);
  for (const std::string& p : paths.read) {
    if (Status st = AddPath(ruleset.get(), p, kReadRights); !st.ok()) return st;
  }
  for (const std::string& p : paths.write) {
    if (Status st = AddPath(ruleset.get(), p, WriteRights(abi)); !st.ok()) return st;
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return ErrnoStatus("prctl(PR_SET_NO_NEW_PRIVS)", errno);
  if (::syscall(SYS_landlock_restrict_self, ruleset.get(), 0) != 0) {
    return ErrnoStatus("landlock_restrict_self", errno);
  }
  return Status::Ok();
}

}  // namespace tfpm::os
