// RestartPolicy: how long to wait before replacing a worker process that
// died. Pure (times in, delay out) so it is tested with a fake clock.
//
// A worker that ran at least `stable_after` restarts at once. Each death
// sooner than that doubles the delay from `min_delay` up to `max_delay`, so
// a worker that crashes during startup (a broken php.ini, a segfaulting
// extension) backs off instead of spinning the CPU.
#pragma once

#include <chrono>
#include <deque>

#include "os/clock.h"

namespace tfpm::supervisor {

class RestartPolicy {
 public:
  using Duration = std::chrono::milliseconds;
  struct Limits {
    Duration min_delay{100};
    Duration max_delay{30000};
    Duration stable_after{10000};
  };

  RestartPolicy() = default;
  explicit RestartPolicy(Limits limits) : limits_(limits) {}

  // A worker that has been up since `started` died at `died`: the delay
  // before its replacement starts. The supervisor passes the time the worker
  // became ready (`died` if it never was), and the pool's failure_window as
  // stable_after.
  Duration OnExit(os::TimePoint started, os::TimePoint died);
  int consecutive_failures() const { return failures_; }

 private:
  Limits limits_;
  int failures_ = 0;
};

// php-fpm's emergency_restart_threshold / emergency_restart_interval: when
// `threshold` workers die on SIGSEGV or SIGBUS within `interval`, the whole
// daemon restarts its workers (php-fpm reloads its master; we start a new
// generation of every pool). threshold 0 or interval 0 = off.
class EmergencyRestart {
 public:
  EmergencyRestart(int threshold, std::chrono::milliseconds interval)
      : threshold_(threshold), interval_(interval) {}
  // Records one such death; true when the threshold is reached (the count
  // then starts again from zero).
  bool OnCrash(os::TimePoint when);

 private:
  int threshold_;
  std::chrono::milliseconds interval_;
  std::deque<os::TimePoint> recent_;
};

}  // namespace tfpm::supervisor
