// LoadShedder: the bookkeeping of max_wait_time (docs/config.md). While
// every PHP thread is busy, the main thread has the Dispatcher answer 503 to
// requests that waited max_wait_time for one (Dispatcher::ShedOverdue); this
// counts them on the status page (scoreboard rejected_requests) and says so
// in the log at most once a second, with the number since the last line.
//
// Not thread-safe: the main thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "os/clock.h"

namespace tfpm::worker {

class LoadShedder {
 public:
  // `threads`: the pool's, for the log line. `rejected`: the counter to add
  // to (must outlive this).
  LoadShedder(std::chrono::milliseconds max_wait, int threads, std::atomic<uint64_t>* rejected)
      : max_wait_(max_wait), threads_(threads), rejected_(rejected) {}

  bool enabled() const { return max_wait_.count() > 0; }
  std::chrono::milliseconds max_wait() const { return max_wait_; }
  // `shed` requests were just answered 503 at `now`.
  void Record(int shed, os::TimePoint now);
  // Answered but not yet logged.
  int unlogged() const { return since_log_; }

 private:
  const std::chrono::milliseconds max_wait_;
  const int threads_;
  std::atomic<uint64_t>* const rejected_;
  int since_log_ = 0;
  std::optional<os::TimePoint> last_log_;  // none yet: the first shed is logged at once
};

}  // namespace tfpm::worker
