// At most one log line per interval for one kind of event, with the count
// of those held back: a client that triggers a warning on every request
// must not fill the disk with the log. Header-only; the caller passes the
// time (monotonic milliseconds), so tests need no clock.
//
// Not thread-safe: one limiter per thread, or guarded by the caller.
#pragma once

#include <cstdint>

namespace tfpm::base {

class RateLimiter {
 public:
  explicit RateLimiter(int64_t interval_ms = 1000) : interval_ms_(interval_ms) {}

  // True if a line may be written at `now_ms`; then *suppressed is the
  // number of events held back since the last line written (and is reset).
  bool Allow(int64_t now_ms, uint64_t* suppressed) {
    if (written_ && now_ms - last_ms_ < interval_ms_) {
      ++held_;
      return false;
    }
    written_ = true;
    last_ms_ = now_ms;
    *suppressed = held_;
    held_ = 0;
    return true;
  }

 private:
  int64_t interval_ms_;
  int64_t last_ms_ = 0;
  bool written_ = false;
  uint64_t held_ = 0;
};

}  // namespace tfpm::base
