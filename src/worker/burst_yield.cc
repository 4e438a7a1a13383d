#include "worker/burst_yield.h"

namespace tfpm::worker {

bool BurstYield::ShouldYield(int64_t now_us) {
  if (after_us_ <= 0) return false;
  if (start_us_ < 0) {
    start_us_ = now_us;
    return false;
  }
  return now_us - start_us_ >= after_us_;
}

}  // namespace tfpm::worker
