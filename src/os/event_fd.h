// eventfd(2) as a wake-up: a descriptor that becomes readable once
// signalled and stays so (nobody reads it), for waking threads that wait in
// epoll or poll.
#pragma once

#include "base/status.h"
#include "os/unique_fd.h"

namespace tfpm::os {

// A non-blocking, close-on-exec eventfd with count 0.
Result<UniqueFd> CreateEventFd();
// Adds 1 to its count: it is readable from now on.
Status SignalEventFd(int fd);

}  // namespace tfpm::os
