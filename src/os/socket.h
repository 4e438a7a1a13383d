// Listening and connecting sockets, unix and TCP (IPv4/IPv6).
//
// Every fd returned here is close-on-exec; workers receive the listening
// sockets they serve explicitly through os/process.h, never by accident.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "os/unique_fd.h"

namespace tfpm::os {

struct ListenAddress {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;   // kUnix
  std::string host;   // kTcp: "127.0.0.1", "::1", "" = any (IPv6 dual-stack)
  uint16_t port = 0;  // kTcp

  // As the user wrote it: "/run/tfpm/www.sock", "127.0.0.1:9000", "[::1]:9000".
  std::string ToString() const;
  bool operator==(const ListenAddress&) const = default;
};

// Accepts "/abs/path.sock", "host:port", "[v6]:port" and a bare "port"
// (all addresses, as php-fpm's `listen = 9000`).
Result<ListenAddress> ParseListenAddress(std::string_view text);

struct ListenOptions {
  int backlog = 511;
  uint32_t mode = 0660;  // unix sockets only
  std::string owner, group;  // unix sockets only; "" = unchanged
  // Unix sockets only: POSIX ACL entries granting read and write
  // (os/acl.h); with either set, owner/group must be empty.
  std::vector<std::string> acl_users, acl_groups;
};

// Creates, binds and listens. A stale unix socket file (nobody listening) is
// replaced; a live one is an error ("... is in use by another process").
// The socket is non-blocking.
Result<UniqueFd> Listen(const ListenAddress& address, const ListenOptions& options);

// Tests only: `hook(path)` runs in Listen() between bind() of a unix socket
// and the change of its owner, to force the race of a path swapped after
// bind. Empty = none.
void SetAfterBindHookForTesting(std::function<void(const std::string& path)> hook);

// Returns the address a listening socket is bound to (for sockets adopted
// from systemd or inherited by a worker).
Result<ListenAddress> LocalAddress(int fd);

// Blocking connect to a unix socket.
Result<UniqueFd> ConnectUnix(const std::string& path);

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};
Result<PeerCredentials> GetPeerCredentials(int fd);

// Numeric ids of a user / group name ("no such user" otherwise).
Result<uid_t> UserId(const std::string& name);
Result<gid_t> GroupId(const std::string& name);

// Passing descriptors over a unix stream socket (SCM_RIGHTS). SendFd sends
// one byte `tag` carrying `fd`; false if it could not be sent now (the
// socket is non-blocking and full, or closed). ReceiveWithFds reads what is
// there: appends the bytes to *data and the received descriptors to *fds;
// returns the byte count, 0 at EOF, -1 with errno (EAGAIN when empty).
bool SendFd(int socket, int fd, char tag);
ssize_t ReceiveWithFds(int socket, std::string* data, std::vector<UniqueFd>* fds);

// Sets O_NONBLOCK on or off.
Status SetNonBlocking(int fd, bool on);
// Sets FD_CLOEXEC: the descriptor is closed in programs the process execs.
Status SetCloseOnExec(int fd);

// Makes a listening socket stop listening for every process that shares it
// (shutdown(SHUT_RD) on Linux), while its descriptors stay open: a new
// connection is refused (ECONNREFUSED) at once. Connections already queued
// are reset (TCP) or stay in the queue until the last descriptor closes
// (unix). accept() on a stopped TCP socket fails with EINVAL.
Status StopListening(int fd);
// Removes a unix socket's file; a file already gone is not an error.
Status RemoveSocketFile(const std::string& path);

}  // namespace tfpm::os
