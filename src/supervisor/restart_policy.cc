#include "supervisor/restart_policy.h"

#include <algorithm>

namespace tfpm::supervisor {

RestartPolicy::Duration RestartPolicy::OnExit(os::TimePoint started, os::TimePoint died) {
  if (died - started >= limits_.stable_after) {
    failures_ = 0;
    return Duration(0);
  }
  ++failures_;
  Duration delay = limits_.min_delay;
  for (int i = 1; i < failures_ && delay < limits_.max_delay; ++i) delay *= 2;
  return std::min(delay, limits_.max_delay);
}

bool EmergencyRestart::OnCrash(os::TimePoint when) {
  if (threshold_ <= 0 || interval_.count() <= 0) return false;
  recent_.push_back(when);
  while (!recent_.empty() && when - recent_.front() > interval_) recent_.pop_front();
  if (static_cast<int>(recent_.size()) < threshold_) return false;
  recent_.clear();
  return true;
}

}  // namespace tfpm::supervisor
