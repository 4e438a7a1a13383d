// The one monotonic clock of the worker's timeouts, in plain integers that
// fit in atomics and cross the sapi boundary: CLOCK_MONOTONIC (what
// std::chrono::steady_clock is on Linux).
#pragma once

#include <time.h>

#include <cstdint>

namespace tfpm::base {

inline int64_t MonotonicMicros() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

inline int64_t MonotonicMillis() { return MonotonicMicros() / 1000; }

}  // namespace tfpm::base
