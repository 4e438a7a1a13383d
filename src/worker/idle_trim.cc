#include "worker/idle_trim.h"

#include <algorithm>
#include <limits>

namespace tfpm::worker {

void IdleTrimTimer::Served(int64_t now_ms) {
  if (enabled()) due_ms_ = now_ms + after_ms_;
}

int IdleTrimTimer::WaitMs(int64_t now_ms) const {
  if (due_ms_ < 0) return -1;
  const int64_t left = std::max<int64_t>(0, due_ms_ - now_ms);
  return static_cast<int>(std::min<int64_t>(left, std::numeric_limits<int32_t>::max()));
}

bool IdleTrimTimer::Due(int64_t now_ms) {
  if (due_ms_ < 0 || now_ms < due_ms_) return false;
  due_ms_ = -1;
  return true;
}

void BusyTrimPolicy::Restart(int64_t now_ms) {
  period_start_ms_ = now_ms;
  held_peak_ = period_peak_ = 0;
}

void BusyTrimPolicy::Served(uint64_t peak) {
  held_peak_ = std::max(held_peak_, peak);
  period_peak_ = std::max(period_peak_, peak);
}

bool BusyTrimPolicy::Due(int64_t now_ms) {
  if (!enabled() || now_ms - period_start_ms_ < every_ms_) return false;
  if (held_peak_ > period_peak_ + slack_) return true;
  period_start_ms_ = now_ms;
  period_peak_ = 0;
  return false;
}

}  // namespace tfpm::worker
