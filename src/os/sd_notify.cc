#include "os/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <string>

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "os/unique_fd.h"

namespace tfpm::os {

bool SdNotify(std::string_view message) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const size_t len = std::strlen(path);
  if (len >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  const socklen_t addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  return ::sendto(fd.get(), message.data(), message.size(), MSG_NOSIGNAL,
                  reinterpret_cast<sockaddr*>(&addr), addr_len) == static_cast<ssize_t>(message.size());
}

namespace {

bool EnvNumber(const char* name, long long* out) {
  const char* v = std::getenv(name);
  if (v == nullptr || v[0] == '\0') return false;
  const char* end = v + std::strlen(v);
  auto [p, ec] = std::from_chars(v, end, *out);
  return ec == std::errc() && p == end;
}

}  // namespace

std::chrono::microseconds SdWatchdogInterval() {
  long long usec = 0, pid = 0;
  if (!EnvNumber("WATCHDOG_USEC", &usec) || usec <= 0) return std::chrono::microseconds(0);
  if (EnvNumber("WATCHDOG_PID", &pid) && pid != ::getpid()) return std::chrono::microseconds(0);
  return std::chrono::microseconds(usec);
}

std::vector<int> SdListenFds() {
  constexpr int kFirst = 3;  // SD_LISTEN_FDS_START
  long long pid = 0, n = 0;
  std::vector<int> fds;
  if (EnvNumber("LISTEN_PID", &pid) && pid == ::getpid() && EnvNumber("LISTEN_FDS", &n) && n > 0 && n < 1024) {
    for (int i = 0; i < n; ++i) fds.push_back(kFirst + i);
  }
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  return fds;
}

}  // namespace tfpm::os
