#include "os/event_fd.h"

#include <sys/eventfd.h>

#include <cerrno>
#include <cstdint>
#include <string_view>

#include "os/fd_io.h"

namespace tfpm::os {

Result<UniqueFd> CreateEventFd() {
  UniqueFd fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd) return ErrnoStatus("eventfd", errno);
  return fd;
}

Status SignalEventFd(int fd) {
  const uint64_t one = 1;
  auto n = WriteSome(fd, std::string_view(reinterpret_cast<const char*>(&one), sizeof(one)));
  // EAGAIN: the count is at its maximum, so the descriptor is readable
  // already.
  if (!n.ok() && !WouldBlock(n.status())) return Status::IoError("eventfd: " + n.status().message());
  return Status::Ok();
}

}  // namespace tfpm::os
