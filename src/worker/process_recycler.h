// When a worker process should be replaced (process recycling, docs/config.md
// "Recycling"): after process_max_requests requests in total or with its
// resident memory over process_memory_limit. Pure logic, unit-tested; the
// worker's main thread feeds it the request count and the RSS it reads
// (os::ResidentMemory) and sends the supervisor the cause it returns
// (ipc/notify.h Message::kRecycle*). The supervisor starts the
// replacement and drains this process once the replacement is ready.
//
// Stagger: processes of a pool start together and share the load evenly, so
// with one threshold they would all recycle within moments of each other.
// Each process draws its threshold in [N, N + N/4] from a per-process seed;
// the supervisor also replaces at most one process of a pool at a time.
//
// Not thread-safe: the worker's main thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tfpm::worker {

enum class RecycleCause { kNone, kMaxRequests, kMemory };
// "max_requests" / "memory" (the word sent to the supervisor and logged).
std::string_view RecycleCauseName(RecycleCause c);

struct RecycleLimits {
  uint64_t max_requests = 0;  // process_max_requests; 0 = off
  uint64_t memory_limit = 0;  // process_memory_limit, bytes of RSS; 0 = off
};

// The request threshold of one process: n + (mixed seed) % (n / 4 + 1).
// 0 when n is 0.
uint64_t StaggeredThreshold(uint64_t n, uint64_t seed);

class ProcessRecycler {
 public:
  // How often a due recycle is asked for again while this process has not
  // been told to drain (the supervisor defers it while another process of
  // the pool is being replaced, during a reload, or at process_max).
  static constexpr int64_t kResendMs = 1000;

  ProcessRecycler(RecycleLimits limits, uint64_t seed);

  bool enabled() const { return limits_.max_requests != 0 || limits_.memory_limit != 0; }
  bool watches_memory() const { return limits_.memory_limit != 0; }
  uint64_t request_threshold() const { return threshold_; }
  // The cause found so far (it stays once found).
  RecycleCause cause() const { return cause_; }

  // `requests`: served by the process in total; `rss`: its resident bytes
  // (nullopt when not read). Returns the cause to send to the supervisor
  // now: at the first check that finds one, then every kResendMs;
  // kNone otherwise.
  RecycleCause Check(int64_t now_ms, uint64_t requests, std::optional<uint64_t> rss);

 private:
  RecycleLimits limits_;
  uint64_t threshold_;
  RecycleCause cause_ = RecycleCause::kNone;
  std::optional<int64_t> sent_at_;
};

// Classic threads (pool memory_recycle): true when a request whose Zend heap
// peaked at `peak` bytes should make its thread's interpreter recycle.
inline bool InterpreterOverMemory(uint64_t limit, uint64_t peak) { return limit != 0 && peak > limit; }

}  // namespace tfpm::worker
