#include "os/inotify.h"

#include <sys/inotify.h>

#include <cerrno>

#include "os/fd_io.h"

namespace tfpm::os {

Result<UniqueFd> InotifyOpen() {
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd) return ErrnoStatus("inotify_init1", errno);
  return fd;
}

Status InotifyWatch(int inotify_fd, const std::string& path, uint32_t mask) {
  if (::inotify_add_watch(inotify_fd, path.c_str(), mask) < 0) return ErrnoStatus("watch " + path, errno);
  return Status::Ok();
}

bool InotifyDrain(int inotify_fd) {
  alignas(inotify_event) char buf[4096];
  bool any = false;
  for (;;) {
    auto n = ReadSome(inotify_fd, buf);
    if (!n.ok() || *n == 0) return any;  // EAGAIN: drained
    any = true;
  }
}

}  // namespace tfpm::os
