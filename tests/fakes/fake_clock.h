// os::Clock that moves only when told: tests of timing policy (restart
// backoff, probation, scaling, transitions) run in microseconds and never
// sleep.
#pragma once

#include <chrono>

#include "os/clock.h"

namespace tfpm::testing {

class FakeClock final : public os::Clock {
 public:
  // Starts an hour after the epoch of steady_clock, so `now - 10 s` is a
  // valid earlier time.
  FakeClock() : now_(os::TimePoint{} + std::chrono::hours(1)) {}
  os::TimePoint Now() const override { return now_; }
  void Advance(std::chrono::nanoseconds by) { now_ += by; }
  void Set(os::TimePoint t) { now_ = t; }

 private:
  os::TimePoint now_;
};

}  // namespace tfpm::testing
