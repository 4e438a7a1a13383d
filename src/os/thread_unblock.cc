#include "os/thread_unblock.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "os/unique_fd.h"

namespace tfpm::os {
namespace {

// Reads our own memory without faulting on a bad address (EFAULT instead):
// another thread's syscall arguments may change under us.
bool ReadSelf(const void* addr, void* out, size_t n) {
  iovec local{out, n}, remote{const_cast<void*>(addr), n};
  return ::process_vm_readv(::getpid(), &local, 1, &remote, 1, 0) == static_cast<ssize_t>(n);
}

bool ReadSyscallLine(pid_t tid, std::string* line) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", static_cast<int>(tid));
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char buf[256];
  const ssize_t got = ::read(fd.get(), buf, sizeof(buf) - 1);
  if (got <= 0) return false;
  line->assign(buf, static_cast<size_t>(got));
  return true;
}

// The descriptors the call in `line` waits on.
bool WaitedFds(const std::string& line, std::vector<int>* fds) {
  long nr = -1;
  unsigned long a0 = 0, a1 = 0;
  if (std::sscanf(line.c_str(), "%ld %lx %lx", &nr, &a0, &a1) < 2) return false;
  if (nr == SYS_poll || nr == SYS_ppoll) {
    const unsigned long n = std::min<unsigned long>(a1, 16);
    for (unsigned long i = 0; i < n; ++i) {
      pollfd p;
      if (!ReadSelf(reinterpret_cast<const void*>(a0 + i * sizeof(pollfd)), &p, sizeof(p))) return false;
      fds->push_back(p.fd);
    }
    return true;
  }
  if (nr == SYS_read || nr == SYS_recvfrom || nr == SYS_recvmsg) {
    fds->push_back(static_cast<int>(a0));
    return true;
  }
  return false;
}

bool SameFile(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

}  // namespace

int ShutdownSocketsWaitedOn(pid_t tid, int keep_fd, const UnblockSeam* seam) {
  std::string before, after;
  if (!ReadSyscallLine(tid, &before)) return 0;
  std::vector<int> fds;
  if (!WaitedFds(before, &fds)) return 0;
  struct stat keep{};
  const bool have_keep = keep_fd >= 0 && ::fstat(keep_fd, &keep) == 0;
  // Pin each socket under its number now.
  std::vector<UniqueFd> pinned;
  for (int fd : fds) {
    if (fd < 0) continue;
    UniqueFd dup(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    if (!dup) continue;
    struct stat st{};
    if (::fstat(dup.get(), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    if (have_keep && SameFile(st, keep)) continue;
    pinned.push_back(std::move(dup));
  }
  // Still in the same call with the same arguments: the numbers named the
  // sockets it waits on when we pinned them.
  if (pinned.empty() || !ReadSyscallLine(tid, &after) || before != after) return 0;
  if (seam != nullptr && seam->after_verify) seam->after_verify();
  int n = 0;
  for (const UniqueFd& s : pinned) {
    if (::shutdown(s.get(), SHUT_RDWR) == 0) ++n;
  }
  return n;
}

}  // namespace tfpm::os
