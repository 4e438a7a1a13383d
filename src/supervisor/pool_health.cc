#include "supervisor/pool_health.h"

namespace tfpm::supervisor {

PoolHealth::Change PoolHealth::OnUnexpectedExit(std::optional<os::TimePoint> ready_at, os::TimePoint died) {
  if (Stable(ready_at, died)) {
    // It served for a while: whatever killed it, the pool can run.
    quick_failures_ = 0;
    return Change::kNone;
  }
  ++quick_failures_;
  if (failed() || limits_.threshold <= 0 || quick_failures_ < limits_.threshold) return Change::kNone;
  failed_since_ = died;
  ++times_failed_;
  return Change::kFailed;
}

PoolHealth::Change PoolHealth::OnTick(std::optional<os::TimePoint> oldest_ready, os::TimePoint now) {
  if (!Stable(oldest_ready, now)) return Change::kNone;
  quick_failures_ = 0;
  if (!failed()) return Change::kNone;
  failed_since_.reset();
  return Change::kRecovered;
}

std::optional<os::TimePoint> PoolHealth::NextCheck(std::optional<os::TimePoint> oldest_ready) const {
  // Only a change of state needs a wake-up; resetting the count can wait
  // for the next exit or tick.
  if (!failed() || !oldest_ready) return std::nullopt;
  return *oldest_ready + limits_.window;
}

ProbationVerdict CheckProbation(std::span<const std::optional<os::TimePoint>> ready_at,
                                std::chrono::milliseconds probation, os::TimePoint now) {
  ProbationVerdict v;
  v.passed = true;
  for (const auto& at : ready_at) {
    if (!at) {
      v.passed = false;  // its "ready" (or its exit) comes as an event
      continue;
    }
    const os::TimePoint ends = *at + probation;
    if (now < ends) {
      v.passed = false;
      if (!v.recheck || ends < *v.recheck) v.recheck = ends;
    }
  }
  return v;
}

}  // namespace tfpm::supervisor
