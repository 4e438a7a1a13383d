#include "worker/idle_trim.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

namespace tfpm::worker {
namespace {

using std::chrono::milliseconds;

// Runs a thread's wait loop the way Dispatcher::ServeOne does, on a fake
// clock: each turn either trims (Due) or waits WaitMs() for work, which
// arrives at `next_request` (-1 = never). Returns the times it trimmed.
struct FakeThread {
  IdleTrimTimer timer;
  int64_t now = 1000;
  int trims = 0;
  // Waits for work until `request_at` (-1 = none comes) or `until`;
  // serves it, if it came, and returns true.
  bool WaitForWork(int64_t request_at, int64_t until) {
    for (;;) {
      if (timer.Due(now)) ++trims;
      const int wait = timer.WaitMs(now);
      const int64_t wake = wait < 0 ? until : std::min(until, now + wait);
      if (request_at >= 0 && request_at <= wake) {
        now = request_at;
        timer.Served(now);  // a short request: it ends when it begins
        return true;
      }
      if (wake >= until) {
        now = until;
        return false;
      }
      now = wake;
    }
  }
};

TEST_CASE("idle_trim: a thread idle for `after` since its last request trims once, then waits unbounded") {
  FakeThread t{IdleTrimTimer(milliseconds(1000))};
  CHECK(t.timer.WaitMs(t.now) == -1);  // nothing served yet: nothing to trim
  REQUIRE(t.WaitForWork(1500, 1'000'000));
  CHECK(t.timer.WaitMs(1500) == 1000);
  CHECK(t.timer.WaitMs(2200) == 300);
  CHECK_FALSE(t.timer.Due(2499));
  // An hour without requests: exactly one trim, at 2500, then no bound.
  CHECK_FALSE(t.WaitForWork(-1, 1500 + 3'600'000));
  CHECK(t.trims == 1);
  CHECK(t.timer.WaitMs(t.now) == -1);
  CHECK_FALSE(t.timer.Due(t.now));
}

TEST_CASE("idle_trim: requests closer together than `after` never trim; the clock restarts at each") {
  FakeThread t{IdleTrimTimer(milliseconds(1000))};
  for (int64_t at = 2000; at < 60000; at += 999) REQUIRE(t.WaitForWork(at, 1'000'000));
  CHECK(t.trims == 0);
  const int64_t last = t.now;
  CHECK_FALSE(t.WaitForWork(-1, last + 999));
  CHECK(t.trims == 0);
  CHECK_FALSE(t.WaitForWork(-1, last + 1000));
  CHECK(t.trims == 0);  // due at last + 1000: the next turn trims
  CHECK_FALSE(t.WaitForWork(-1, last + 1001));
  CHECK(t.trims == 1);
}

TEST_CASE("idle_trim: each idle period after a request trims once more") {
  FakeThread t{IdleTrimTimer(milliseconds(500))};
  for (int i = 1; i <= 5; ++i) {
    REQUIRE(t.WaitForWork(t.now + 10'000, t.now + 20'000));
    CHECK(t.trims == i - 1);
    CHECK_FALSE(t.WaitForWork(-1, t.now + 5'000));
    CHECK(t.trims == i);
  }
}

TEST_CASE("idle_trim: a late wake-up still trims once; the wait never goes negative") {
  IdleTrimTimer timer(milliseconds(1000));
  timer.Served(0);
  CHECK(timer.WaitMs(5000) == 0);  // overdue: wait no more
  CHECK(timer.Due(5000));
  CHECK_FALSE(timer.Due(9000));
}

TEST_CASE("idle_trim: 0 is off: never due, never bounds the wait") {
  FakeThread t{IdleTrimTimer(milliseconds(0))};
  CHECK_FALSE(t.timer.enabled());
  REQUIRE(t.WaitForWork(2000, 3000));
  CHECK(t.timer.WaitMs(t.now) == -1);
  CHECK_FALSE(t.WaitForWork(-1, 10'000'000));
  CHECK(t.trims == 0);
}

TEST_CASE("idle_trim: a long `after` fits an epoll_wait timeout") {
  IdleTrimTimer timer(milliseconds(int64_t{30} * 24 * 3600 * 1000));  // 30 days
  timer.Served(0);
  CHECK(timer.WaitMs(0) == std::numeric_limits<int32_t>::max());
}

}  // namespace
}  // namespace tfpm::worker
