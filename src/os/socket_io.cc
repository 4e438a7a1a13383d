#include "os/socket_io.h"

#include <cerrno>

namespace tfpm::os {

Accepted AcceptConnection(int listener, sockaddr_storage* peer, socklen_t* peer_len) {
  Accepted a;
  const int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(peer), peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    a.error = errno;
  } else {
    a.fd.Reset(fd);
  }
  return a;
}

Status Shutdown(int fd, ShutdownHow how) {
  if (::shutdown(fd, static_cast<int>(how)) != 0) return ErrnoStatus("shutdown", errno);
  return Status::Ok();
}

}  // namespace tfpm::os
