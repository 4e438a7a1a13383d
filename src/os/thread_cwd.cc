#include "os/thread_cwd.h"

#include <sched.h>

#include <cerrno>

namespace tfpm::os {

Status OwnWorkingDirectory() {
  if (::unshare(CLONE_FS) != 0) return ErrnoStatus("unshare(CLONE_FS)", errno);
  return Status::Ok();
}

}  // namespace tfpm::os
