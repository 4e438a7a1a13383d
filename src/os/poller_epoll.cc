#include <cerrno>

#include "os/poller.h"

namespace tfpm::os {

Result<Poller> Poller::Create() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return ErrnoStatus("epoll_create1", errno);
  return Poller(UniqueFd(fd));
}

Status Poller::Add(int fd, uint32_t events, uint64_t token) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (::epoll_ctl(fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return ErrnoStatus("epoll_ctl(ADD)", errno);
  return Status::Ok();
}

Status Poller::Modify(int fd, uint32_t events, uint64_t token) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (::epoll_ctl(fd_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) return ErrnoStatus("epoll_ctl(MOD)", errno);
  return Status::Ok();
}

void Poller::Remove(int fd) { ::epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, nullptr); }

int Poller::Wait(std::span<epoll_event> out, std::chrono::milliseconds timeout) {
  int n = ::epoll_wait(fd_.get(), out.data(), static_cast<int>(out.size()),
                       timeout.count() < 0 ? -1 : static_cast<int>(timeout.count()));
  return n < 0 ? 0 : n;
}

}  // namespace tfpm::os
