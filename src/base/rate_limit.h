// RateLimit: at most one log line per interval for an event a client can
// repeat at will (a bad record, a refused connection, accept() failing for
// lack of descriptors), so no client can fill the disk through our log.
//
// Thread-safe (atomics only); shared by every thread that reports the event.
//
//   static base::RateLimit limit;
//   if (uint64_t dropped; limit.Allow(&dropped)) log::Warning("... ({} more not logged)", dropped);
#pragma once

#include <atomic>
#include <cstdint>

#include "base/clock.h"

namespace tfpm::base {

class RateLimit {
 public:
  explicit constexpr RateLimit(int64_t interval_ms = 1000) : interval_ms_(interval_ms) {}

  // True for the first event of each interval: log it. `*suppressed` is
  // then the number of events not logged since the previous line.
  bool Allow(uint64_t* suppressed) { return AllowAt(MonotonicMillis(), suppressed); }
  // The same with the clock given (tests).
  bool AllowAt(int64_t now_ms, uint64_t* suppressed) {
    int64_t next = next_ms_.load(std::memory_order_relaxed);
    while (now_ms >= next) {
      if (next_ms_.compare_exchange_weak(next, now_ms + interval_ms_, std::memory_order_acq_rel)) {
        *suppressed = dropped_.exchange(0, std::memory_order_acq_rel);
        return true;
      }
    }
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

 private:
  const int64_t interval_ms_;
  std::atomic<int64_t> next_ms_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace tfpm::base
