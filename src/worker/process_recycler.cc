#include "worker/process_recycler.h"

namespace tfpm::worker {
namespace {

// splitmix64's finalizer: neighbouring pids give unrelated thresholds.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

std::string_view RecycleCauseName(RecycleCause c) {
  switch (c) {
    case RecycleCause::kMaxRequests: return "max_requests";
    case RecycleCause::kMemory: return "memory";
    case RecycleCause::kNone: break;
  }
  return "none";
}

uint64_t StaggeredThreshold(uint64_t n, uint64_t seed) {
  if (n == 0) return 0;
  const uint64_t spread = n / 4 + 1;
  const uint64_t extra = Mix(seed) % spread;
  return n > UINT64_MAX - extra ? UINT64_MAX : n + extra;
}

ProcessRecycler::ProcessRecycler(RecycleLimits limits, uint64_t seed)
    : limits_(limits), threshold_(StaggeredThreshold(limits.max_requests, seed)) {}

RecycleCause ProcessRecycler::Check(int64_t now_ms, uint64_t requests, std::optional<uint64_t> rss) {
  if (cause_ == RecycleCause::kNone) {
    if (threshold_ != 0 && requests >= threshold_) {
      cause_ = RecycleCause::kMaxRequests;
    } else if (limits_.memory_limit != 0 && rss && *rss > limits_.memory_limit) {
      cause_ = RecycleCause::kMemory;
    }
  }
  if (cause_ == RecycleCause::kNone) return RecycleCause::kNone;
  if (sent_at_ && now_ms - *sent_at_ < kResendMs) return RecycleCause::kNone;
  sent_at_ = now_ms;
  return cause_;
}

}  // namespace tfpm::worker
