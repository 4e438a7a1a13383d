#include "os/resource_limits.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace tfpm::os {

Status SetFileLimit(uint64_t files, uint64_t* soft) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return ErrnoStatus("getrlimit(RLIMIT_NOFILE)", errno);
  if (files == 0) {
    if (rl.rlim_cur == rl.rlim_max) {
      *soft = rl.rlim_cur;
      return Status::Ok();
    }
    rl.rlim_cur = rl.rlim_max;
  } else {
    rl.rlim_cur = rl.rlim_max = static_cast<rlim_t>(files);
  }
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    const int err = errno;
    return Status::IoError("setrlimit(RLIMIT_NOFILE, " + std::to_string(rl.rlim_cur) +
                           "): " + std::strerror(err) +
                           (files != 0 && err == EPERM ? " (raising the hard limit needs root)" : ""));
  }
  *soft = rl.rlim_cur;
  return Status::Ok();
}

uint64_t SoftFileLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return uint64_t{1} << 30;
  return static_cast<uint64_t>(rl.rlim_cur);
}

}  // namespace tfpm::os
