#include "worker/load_shedder.h"

#include "base/log.h"

namespace tfpm::worker {

void LoadShedder::Record(int shed, os::TimePoint now) {
  if (shed > 0) {
    rejected_->fetch_add(static_cast<uint64_t>(shed), std::memory_order_relaxed);
    since_log_ += shed;
  }
  if (since_log_ > 0 && (!last_log_ || now - *last_log_ >= std::chrono::seconds(1))) {
    log::Warning("all {} threads busy: {} request(s) answered 503 after waiting max_wait_time ({} ms)", threads_,
                 since_log_, max_wait_.count());
    since_log_ = 0;
    last_log_ = now;
  }
}

}  // namespace tfpm::worker
