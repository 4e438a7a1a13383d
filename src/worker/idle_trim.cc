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
  start_ms_ = now_ms;
  max_peak_ = last_peak_ = 0;
}

void BusyTrimPolicy::Served(uint64_t peak) {
  last_peak_ = peak;
  max_peak_ = std::max(max_peak_, peak);
}

bool BusyTrimPolicy::Due(int64_t now_ms) {
  if (!enabled() || now_ms - start_ms_ < every_ms_) return false;
  if (max_peak_ > last_peak_ + slack_) return true;
  start_ms_ = now_ms;
  max_peak_ = last_peak_;
  return false;
}

}  // namespace tfpm::worker
