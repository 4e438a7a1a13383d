// Calls on stream sockets in the worker's request path: accepting a
// connection and shutting one down.
//
// Thread-safety: as the system calls (any thread).
#pragma once

#include <sys/socket.h>

#include <cerrno>

#include "base/status.h"
#include "os/unique_fd.h"

namespace tfpm::os {

// accept4(2) of one connection, non-blocking and close-on-exec, with the
// peer's address in *peer (*peer_len its length). The errno is given as is
// (0 on success), not as a Status: the caller decides by it whether to back
// off (EMFILE, ENFILE, ENOBUFS, ENOMEM), ignore it (EAGAIN, ECONNABORTED,
// EINTR) or count it.
struct Accepted {
  UniqueFd fd;    // invalid on failure
  int error = 0;  // errno of the failure
};
Accepted AcceptConnection(int listener, sockaddr_storage* peer, socklen_t* peer_len);
// An accept error that means the process or the system is short of
// descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): the connection
// stays queued and the socket readable, so the caller pauses accepting.
inline bool ResourceShortage(int err) { return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM; }

// shutdown(2). A connection the peer already reset (ENOTCONN) is an error
// like any other; callers that end a connection either way ignore it.
enum class ShutdownHow { kRead = SHUT_RD, kWrite = SHUT_WR, kBoth = SHUT_RDWR };
Status Shutdown(int fd, ShutdownHow how);

}  // namespace tfpm::os
