#include "worker/thread_scaler.h"

#include <doctest/doctest.h>

namespace tfpm::worker {
namespace {

using config::ProcessManager;
using std::chrono::milliseconds;

ScalerOptions Dynamic(int max, int min_spare, int max_spare, int start) {
  ScalerOptions o;
  o.pm = ProcessManager::kDynamic;
  o.max_threads = max;
  o.min_spare = min_spare;
  o.max_spare = max_spare;
  o.start_threads = start;
  return o;
}

TEST_CASE("php-fpm's defaults: start = min + (max - min) / 2, max_spare = threads") {
  config::PoolConfig pool;
  pool.pm = ProcessManager::kDynamic;
  pool.threads = 10;
  pool.min_spare_threads = 2;
  ScalerOptions o = ScalerOptions::For(pool);
  CHECK(o.max_spare == 10);
  CHECK(o.start_threads == 6);
  CHECK(o.initial_threads() == 6);
  pool.pm = ProcessManager::kOndemand;
  CHECK(ScalerOptions::For(pool).initial_threads() == 0);
  pool.pm = ProcessManager::kStatic;
  CHECK(ScalerOptions::For(pool).initial_threads() == 10);
}

TEST_CASE("static never scales") {
  ScalerOptions o;
  o.max_threads = 4;
  ThreadScaler s(o);
  CHECK_FALSE(s.enabled());
  CHECK(s.Decide(0, 4, 4, true) == 0);
  CHECK(s.Decide(5000, 4, 0, false) == 0);
}

TEST_CASE("dynamic starts threads at once up to min_spare, within max") {
  ThreadScaler s(Dynamic(8, 2, 4, 2));
  CHECK(s.Decide(0, 2, 0, false) == 0);
  CHECK(s.Decide(10, 2, 1, false) == 1);   // one idle, min_spare 2
  CHECK(s.Decide(20, 3, 3, true) == 2);    // none idle
  CHECK(s.Decide(30, 7, 7, true) == 1);    // only room for one
  CHECK(s.Decide(40, 8, 8, true) == 0);    // full: the supervisor adds a process
}

TEST_CASE("dynamic retires the excess over max_spare after a whole second of it") {
  ThreadScaler s(Dynamic(8, 1, 3, 2));
  CHECK(s.Decide(0, 8, 0, false) == 0);     // 8 idle: the period starts
  CHECK(s.Decide(500, 8, 1, false) == 0);   // 7 idle
  CHECK(s.Decide(1000, 8, 0, false) == -4); // fewest idle 7, keep 3
  CHECK(s.Decide(1010, 4, 0, false) == 0);  // a new period
  // A dip to max_spare ends the period: nothing retired.
  CHECK(s.Decide(1500, 4, 2, false) == 0);
  CHECK(s.Decide(2100, 4, 0, false) == 0);
  CHECK(s.Decide(2600, 4, 0, false) == 0);
  CHECK(s.Decide(3100, 4, 0, false) == -1);
}

TEST_CASE("ondemand starts one thread when work waits and none is idle") {
  ScalerOptions o;
  o.pm = ProcessManager::kOndemand;
  o.max_threads = 2;
  o.idle_timeout = milliseconds(1000);
  ThreadScaler s(o);
  CHECK(s.Decide(0, 0, 0, false) == 0);
  CHECK(s.Decide(10, 0, 0, true) == 1);
  CHECK(s.Decide(20, 1, 0, true) == 0);   // the new thread is idle (starting)
  CHECK(s.Decide(30, 1, 1, true) == 1);
  CHECK(s.Decide(40, 2, 2, true) == 0);   // at max
}

TEST_CASE("ondemand retires threads idle through a whole idle_timeout") {
  ScalerOptions o;
  o.pm = ProcessManager::kOndemand;
  o.max_threads = 4;
  o.idle_timeout = milliseconds(1000);
  ThreadScaler s(o);
  CHECK(s.Decide(0, 3, 1, false) == 0);     // 2 idle: period starts
  CHECK(s.Decide(600, 3, 2, false) == 0);   // 1 idle
  CHECK(s.Decide(1000, 3, 0, false) == -1); // only one was idle all along
  CHECK(s.Decide(1100, 2, 0, false) == 0);
  CHECK(s.Decide(2000, 2, 0, false) == -2);
  // Busy threads reset the period.
  CHECK(s.Decide(2100, 1, 1, false) == 0);
  CHECK(s.Decide(2200, 1, 0, false) == 0);
  CHECK(s.Decide(3100, 1, 0, false) == 0);
  CHECK(s.Decide(3200, 1, 0, false) == -1);
}

}  // namespace
}  // namespace tfpm::worker

namespace tfpm::worker {
namespace {

TEST_CASE("dynamic: max_spawn_rate caps the threads started in one 1 s period") {
  ScalerOptions o = Dynamic(/*max=*/64, /*min_spare=*/20, /*max_spare=*/30, /*start=*/20);
  o.max_spawn_rate = 8;
  ThreadScaler s(o);
  // 20 threads, all busy: 20 more wanted, 8 allowed in this second.
  CHECK(s.Decide(0, 20, 20, true) == 8);
  CHECK(s.last_was_rate_limited());
  CHECK(s.spawn_rate_limited() == 1);
  // Still short within the same second: nothing more.
  CHECK(s.Decide(500, 28, 28, true) == 0);
  CHECK(s.last_was_rate_limited());
  // The next second: 8 more.
  CHECK(s.Decide(1000, 28, 28, true) == 8);
  // Enough idle now: no start, not limited.
  CHECK(s.Decide(1100, 36, 16, false) == 0);
  CHECK_FALSE(s.last_was_rate_limited());
  CHECK(s.spawn_rate_limited() == 3);
}

TEST_CASE("dynamic: a need within max_spawn_rate starts at once; the pool key reaches the options") {
  config::PoolConfig pool;
  pool.pm = ProcessManager::kDynamic;
  pool.threads = 10;
  pool.min_spare_threads = 4;
  pool.max_spawn_rate = 3;
  ScalerOptions o = ScalerOptions::For(pool);
  CHECK(o.max_spawn_rate == 3);
  o.max_spawn_rate = 32;
  ThreadScaler s(o);
  CHECK(s.Decide(0, 4, 4, true) == 4);
  CHECK_FALSE(s.last_was_rate_limited());
  CHECK(s.spawn_rate_limited() == 0);
}

}  // namespace
}  // namespace tfpm::worker
