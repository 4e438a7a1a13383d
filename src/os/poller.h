// Poller: epoll behind a narrow interface. Not thread-safe except where noted;
// one owner (an event loop) calls Wait().
#pragma once

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <span>

#include "base/status.h"
#include "os/unique_fd.h"

namespace tfpm::os {

class Poller {
 public:
  static Result<Poller> Create();

  // `token` comes back in events. `events` are EPOLL* flags.
  Status Add(int fd, uint32_t events, uint64_t token);
  Status Modify(int fd, uint32_t events, uint64_t token);
  void Remove(int fd);
  // Waits up to `timeout` (negative = forever); fills `out`, returns count.
  // EINTR returns 0.
  int Wait(std::span<epoll_event> out, std::chrono::milliseconds timeout);
  int fd() const { return fd_.get(); }

 private:
  explicit Poller(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace tfpm::os
