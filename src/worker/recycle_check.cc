#include "worker/recycle_check.h"

#include "base/log.h"

namespace tfpm::worker {

RecycleCheck::RecycleCheck(RecycleLimits limits, uint64_t seed, ResidentReader resident)
    : limits_(limits), recycler_(limits, seed), resident_(std::move(resident)) {}

RecycleCause RecycleCheck::Check(int64_t now_ms, uint64_t requests_served) {
  if (now_ms < next_check_ms_) return RecycleCause::kNone;
  next_check_ms_ = now_ms + kIntervalMs;
  const std::optional<uint64_t> rss = resident_ ? resident_() : std::nullopt;
  const bool first = recycler_.cause() == RecycleCause::kNone;
  const RecycleCause cause = recycler_.Check(now_ms, requests_served, rss);
  if (cause == RecycleCause::kNone || !first) return cause;
  if (cause == RecycleCause::kMemory) {
    log::Notice("resident memory {} bytes is over process_memory_limit ({} bytes): asking for a replacement",
                rss.value_or(0), limits_.memory_limit);
  } else {
    log::Notice("served {} requests (process_max_requests {}, this process's threshold {}): asking for a "
                "replacement",
                requests_served, limits_.max_requests, recycler_.request_threshold());
  }
  return cause;
}

}  // namespace tfpm::worker
