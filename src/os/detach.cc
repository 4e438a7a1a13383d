#include "os/detach.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>
#include <utility>

namespace tfpm::os {
namespace {

// Points each of `fds` at /dev/null (best effort: without /dev/null the
// descriptors stay as they are).
void ToDevNull(std::initializer_list<int> fds) {
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) return;
  for (int fd : fds) (void)::dup2(devnull.get(), fd);
}

void Write(UniqueFd& fd, char c) {
  ssize_t n;
  do n = ::write(fd.get(), &c, 1); while (n < 0 && errno == EINTR);
  fd.Reset();  // a parent that is gone (EPIPE) has nobody left to tell
}

}  // namespace

void StartReport::Send(bool started, bool keep_stderr) {
  if (!fd_) return;
  if (keep_stderr) {
    ToDevNull({1});
  } else {
    ToDevNull({1, 2});
  }
  Write(fd_, started ? 'o' : 'f');
}

void StartReport::Fail() {
  if (fd_) Write(fd_, 'f');
}

Result<Detached> DetachFromTerminal() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus("pipe", errno);
  UniqueFd read_end(p[0]), write_end(p[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork", errno);
  Detached d;
  if (pid > 0) {
    write_end.Reset();
    char result = 0;
    ssize_t n;
    do n = ::read(read_end.get(), &result, 1); while (n < 0 && errno == EINTR);
    d.in_parent = true;
    d.parent_exit_code = n == 1 && result == 'o' ? 0 : 1;
    return d;
  }
  read_end.Reset();
  (void)::setsid();  // fails only for a group leader, which a fresh child is not
  ToDevNull({0});
  d.report = StartReport(std::move(write_end));
  return d;
}

}  // namespace tfpm::os
