// RecycleCheck: the worker main thread's side of process recycling
// (worker/process_recycler.h): at most every kIntervalMs it reads the
// process's resident memory (when process_memory_limit is set) and the
// requests served, and says which cause, if any, to send the supervisor
// now; the first time it finds one it logs why. The check runs on the main
// thread, which never runs PHP, so it sits between requests of every
// thread and costs them nothing.
//
// Not thread-safe: the main thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "worker/process_recycler.h"

namespace tfpm::worker {

class RecycleCheck {
 public:
  static constexpr int kIntervalMs = 100;

  // `resident`: the process's resident bytes now, nullopt if unread (may
  // be empty when limits.memory_limit is 0).
  using ResidentReader = std::function<std::optional<uint64_t>()>;
  RecycleCheck(RecycleLimits limits, uint64_t seed, ResidentReader resident);

  bool enabled() const { return recycler_.enabled(); }
  // The cause to send now (kNone: nothing, or checked less than
  // kIntervalMs ago).
  RecycleCause Check(int64_t now_ms, uint64_t requests_served);

 private:
  const RecycleLimits limits_;
  ProcessRecycler recycler_;
  ResidentReader resident_;
  int64_t next_check_ms_ = 0;
};

}  // namespace tfpm::worker
