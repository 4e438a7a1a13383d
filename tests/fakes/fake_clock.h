// os::Clock that stands still until a test moves it (Advance), so time
// decisions (deadlines, intervals, rate limits) are tested in microseconds
// and exactly at their edges.
#pragma once

#include <chrono>

#include "os/clock.h"

namespace tfpm::testing {

class FakeClock final : public os::Clock {
 public:
  // Starts at an arbitrary, non-zero time point (a real steady clock is
  // never at its epoch).
  FakeClock() : now_(std::chrono::hours(1000)) {}
  os::TimePoint Now() const override { return now_; }
  void Advance(std::chrono::milliseconds d) { now_ += d; }

 private:
  os::TimePoint now_;
};

}  // namespace tfpm::testing
