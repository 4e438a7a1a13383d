#include "os/fd_io.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <cstring>
#include <string>

namespace tfpm::os {
namespace {

// EAGAIN (and EINTR for Poll's kReport) is the one error reported as
// kAborted here (WouldBlock, Interrupted); the others keep ErrnoStatus's
// codes.
Status IoErrno(std::string_view context, int err) {
  if (err == EAGAIN || err == EWOULDBLOCK) return Status::Aborted(std::string(context) + ": would block");
  return ErrnoStatus(context, err);
}

}  // namespace

Status CloseFd(int fd) {
  if (::close(fd) != 0 && errno != EINTR) return ErrnoStatus("close", errno);
  return Status::Ok();
}

Result<size_t> ReadSome(int fd, std::span<char> buf) {
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return IoErrno("read", errno);
  }
}

Result<size_t> ReadAt(int fd, std::span<char> buf, off_t offset) {
  for (;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), offset);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return IoErrno("pread", errno);
  }
}

Result<std::string> ReadAllAt(int fd, off_t offset) {
  std::string out;
  char buf[16384];
  for (;;) {
    auto n = ReadAt(fd, buf, offset);
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buf, *n);
    offset += static_cast<off_t>(*n);
  }
}

Result<size_t> WriteSome(int fd, std::string_view data) {
  for (;;) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return IoErrno("write", errno);
  }
}

Result<size_t> SendSome(int fd, std::string_view data, SendMode mode) {
  const int flags = MSG_NOSIGNAL | (mode == SendMode::kDontWait ? MSG_DONTWAIT : 0);
  for (;;) {
    const ssize_t n = ::send(fd, data.data(), data.size(), flags);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return IoErrno("send", errno);
  }
}

bool WouldBlock(const Status& st) { return st.code() == Status::Code::kAborted; }

Result<int> Poll(std::span<pollfd> fds, int timeout_ms, OnSignal on_signal) {
  const int n = ::poll(fds.data(), static_cast<nfds_t>(fds.size()), timeout_ms);
  if (n >= 0) return n;
  if (errno != EINTR) return ErrnoStatus("poll", errno);
  if (on_signal == OnSignal::kAsNoEvent) return 0;
  return Status::Aborted("poll: interrupted by a signal");
}

Result<int> PollFor(std::span<pollfd> fds, std::chrono::microseconds timeout) {
  const int64_t us = std::max<int64_t>(0, timeout.count());
  const timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
  const int n = ::ppoll(fds.data(), static_cast<nfds_t>(fds.size()), &ts, nullptr);
  if (n >= 0) return n;
  if (errno != EINTR) return ErrnoStatus("ppoll", errno);
  return 0;
}

bool Interrupted(const Status& st) { return st.code() == Status::Code::kAborted; }

Status DuplicateOnto(int from, int to) {
  for (;;) {
    if (::dup3(from, to, O_CLOEXEC) >= 0) return Status::Ok();
    if (errno != EINTR) return ErrnoStatus("dup3", errno);
  }
}

Result<std::pair<UniqueFd, UniqueFd>> StreamSocketPair(IoMode mode) {
  int sv[2];
  const int type = SOCK_STREAM | SOCK_CLOEXEC | (mode == IoMode::kNonBlocking ? SOCK_NONBLOCK : 0);
  if (::socketpair(AF_UNIX, type, 0, sv) != 0) return ErrnoStatus("socketpair", errno);
  return std::pair<UniqueFd, UniqueFd>(UniqueFd(sv[0]), UniqueFd(sv[1]));
}

Result<std::pair<UniqueFd, UniqueFd>> Pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  return std::pair<UniqueFd, UniqueFd>(UniqueFd(p[0]), UniqueFd(p[1]));
}

Result<UniqueFd> DuplicateAtLeast(int fd, int lowest) {
  const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, lowest);
  if (copy < 0) return ErrnoStatus("fcntl(F_DUPFD_CLOEXEC) of fd " + std::to_string(fd), errno);
  return UniqueFd(copy);
}

Result<UniqueFd> OpenForAppend(const std::string& path, unsigned mode) {
  for (;;) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != EINTR) return ErrnoStatus(path, errno);
  }
}

}  // namespace tfpm::os
