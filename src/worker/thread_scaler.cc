#include "worker/thread_scaler.h"

#include <algorithm>

namespace tfpm::worker {
namespace {

// php-fpm's pm.dynamic maintenance period.
constexpr int64_t kDynamicPeriodMs = 1000;

}  // namespace

ScalerOptions ScalerOptions::For(const config::PoolConfig& pool) {
  ScalerOptions o;
  o.pm = pool.pm;
  o.max_threads = pool.threads;
  o.min_spare = std::clamp(pool.min_spare_threads, 1, pool.threads);
  o.max_spare = pool.max_spare_threads > 0 ? std::clamp(pool.max_spare_threads, o.min_spare, pool.threads)
                                           : pool.threads;
  o.start_threads = pool.start_threads > 0 ? std::clamp(pool.start_threads, o.min_spare, o.max_spare)
                                           : o.min_spare + (o.max_spare - o.min_spare) / 2;
  o.idle_timeout = pool.idle_timeout;
  o.max_spawn_rate = std::max(1, pool.max_spawn_rate);
  return o;
}

int ScalerOptions::initial_threads() const {
  switch (pm) {
    case config::ProcessManager::kStatic: return max_threads;
    case config::ProcessManager::kDynamic: return start_threads;
    case config::ProcessManager::kOndemand: return 0;
  }
  return max_threads;
}

int ThreadScaler::Decide(int64_t now_ms, int live, int busy, bool pending) {
  const int idle = std::max(0, live - busy);
  const int room = std::max(0, options_.max_threads - live);
  last_limited_ = false;
  switch (options_.pm) {
    case config::ProcessManager::kStatic:
      return 0;
    case config::ProcessManager::kDynamic: {
      if (idle < options_.min_spare && room > 0) {
        window_start_ms_ = -1;
        if (spawn_period_start_ms_ < 0 || now_ms - spawn_period_start_ms_ >= kDynamicPeriodMs) {
          spawn_period_start_ms_ = now_ms;
          spawned_in_period_ = 0;
        }
        const int want = std::min(options_.min_spare - idle, room);
        const int allowed = std::max(0, options_.max_spawn_rate - spawned_in_period_);
        const int n = std::min(want, allowed);
        spawned_in_period_ += n;
        if (n < want) {
          ++spawn_rate_limited_;
          last_limited_ = true;
        }
        return n;
      }
      if (idle <= options_.max_spare) {
        window_start_ms_ = -1;
        return 0;
      }
      if (window_start_ms_ < 0) {
        Reset(now_ms, idle);
        return 0;
      }
      min_idle_ = std::min(min_idle_, idle);
      if (now_ms - window_start_ms_ < kDynamicPeriodMs) return 0;
      const int excess = min_idle_ - options_.max_spare;
      window_start_ms_ = -1;
      return excess > 0 ? -excess : 0;
    }
    case config::ProcessManager::kOndemand: {
      if (idle == 0) {
        window_start_ms_ = -1;
        return pending && room > 0 ? 1 : 0;
      }
      if (window_start_ms_ < 0) {
        Reset(now_ms, idle);
        return 0;
      }
      min_idle_ = std::min(min_idle_, idle);
      if (now_ms - window_start_ms_ < options_.idle_timeout.count()) return 0;
      const int unused = min_idle_;
      Reset(now_ms, idle - unused);
      return -unused;
    }
  }
  return 0;
}

}  // namespace tfpm::worker
