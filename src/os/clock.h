// Clock: monotonic time behind an interface so restart/backoff policy can be
// tested with tests/fakes/fake_clock.h.
#pragma once

#include <chrono>

namespace tfpm::os {

using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace tfpm::os
