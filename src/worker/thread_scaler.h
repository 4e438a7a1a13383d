// ThreadScaler: how many PHP threads one worker process should start or
// retire now (pm dynamic / ondemand, docs/config.md "Scaling"). Pure
// logic over numbers the main thread reads from its Dispatcher; no OS calls,
// so it is unit-tested with made-up clocks.
//
// dynamic: fewer than min_spare idle threads -> start enough to reach it
// (within max_threads) at once, but at most max_spawn_rate threads in one
// 1 s period (php-fpm's pm.max_spawn_rate); more than max_spare idle threads through a
// whole 1 s period (php-fpm's maintenance period) -> retire the excess at
// its end, as few as the fewest idle seen in it allow.
// ondemand: no idle thread and a connection or request waiting -> start one
// (the main thread asks again on its next tick while work still waits);
// threads that stayed idle through a whole idle_timeout period -> retired
// at its end (so a thread exits between idle_timeout and twice it).
//
// Not thread-safe: the worker's main thread owns it.
#pragma once

#include <chrono>
#include <cstdint>

#include "config/config.h"

namespace tfpm::worker {

struct ScalerOptions {
  config::ProcessManager pm = config::ProcessManager::kStatic;
  int max_threads = 1;
  int start_threads = 0;  // dynamic
  int min_spare = 1;      // dynamic
  int max_spare = 1;      // dynamic
  int max_spawn_rate = 32;  // dynamic: threads started per 1 s period, >= 1
  std::chrono::milliseconds idle_timeout{10000};

  // From a validated pool (fills php-fpm's defaults for unset keys).
  static ScalerOptions For(const config::PoolConfig& pool);
  // Threads a new process starts with.
  int initial_threads() const;
};

class ThreadScaler {
 public:
  explicit ThreadScaler(ScalerOptions options) : options_(options) {}

  // `live`: threads running (incl. starting), not asked to exit; `busy`:
  // of those, reading or running a request; `pending`: a connection or
  // request waits for a thread. Returns threads to start (> 0) or to
  // retire (< 0).
  int Decide(int64_t now_ms, int live, int busy, bool pending);

  bool enabled() const { return options_.pm != config::ProcessManager::kStatic; }
  // Times a start was cut short by max_spawn_rate (dynamic), and whether
  // the last Decide() was one of them.
  uint64_t spawn_rate_limited() const { return spawn_rate_limited_; }
  bool last_was_rate_limited() const { return last_limited_; }
  const ScalerOptions& options() const { return options_; }

 private:
  void Reset(int64_t now_ms, int idle) {
    window_start_ms_ = now_ms;
    min_idle_ = idle;
  }

  const ScalerOptions options_;
  int64_t window_start_ms_ = -1;  // -1: no period running
  int min_idle_ = 0;              // fewest idle threads seen in this period
  int64_t spawn_period_start_ms_ = -1;  // dynamic: the max_spawn_rate period
  int spawned_in_period_ = 0;
  uint64_t spawn_rate_limited_ = 0;
  bool last_limited_ = false;
};

}  // namespace tfpm::worker
