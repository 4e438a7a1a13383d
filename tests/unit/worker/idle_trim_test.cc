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

// busy_trim on a fake clock: a thread serving one request every `gap_ms`,
// each with the given Zend heap peak; the caller trims (and restarts the
// policy) whenever Due() says so, as ClassicThread does.
struct BusyThread {
  BusyTrimPolicy policy{milliseconds(1000), 256 << 10};
  int64_t now = 0;
  int trims = 0;
  BusyThread() { policy.Restart(now); }
  void Serve(uint64_t peak, int64_t gap_ms = 10) {
    now += gap_ms;
    policy.Served(peak);
    if (policy.Due(now)) {
      ++trims;
      policy.Restart(now);
    }
  }
};

constexpr uint64_t kSteady = 300 << 10;

TEST_CASE("busy_trim: steady requests never trim") {
  BusyThread t;
  for (int i = 0; i < 10'000; ++i) t.Serve(kSteady + (i % 7) * 10'000);  // 100 s, peaks within 60 KB
  CHECK(t.trims == 0);
}

TEST_CASE("busy_trim: a peak is given back once a whole period went by without needing it") {
  BusyThread t;
  t.Serve(3 << 20);  // a cold start: every script compiled in this request
  for (int i = 0; i < 98; ++i) t.Serve(kSteady);
  t.Serve(kSteady);  // 1000 ms: the first period held the peak itself
  CHECK(t.trims == 0);
  for (int i = 0; i < 99; ++i) t.Serve(kSteady);
  CHECK(t.trims == 0);  // 1990 ms
  t.Serve(kSteady);     // 2000 ms: a period of steady requests only
  CHECK(t.trims == 1);
  for (int i = 0; i < 1000; ++i) t.Serve(kSteady);
  CHECK(t.trims == 1);  // nothing new to give back
  t.Serve(2 << 20);     // a peak that does not come back: one to two periods later
  for (int i = 0; i < 200; ++i) t.Serve(kSteady);
  CHECK(t.trims == 2);
}

TEST_CASE("busy_trim: heavy and light requests mixed keep their peak: no trim to pay for again") {
  BusyThread t;
  for (int i = 0; i < 10'000; ++i) t.Serve(i % 5 == 0 ? 4 << 20 : kSteady);  // 100 s
  CHECK(t.trims == 0);
}

TEST_CASE("busy_trim: a peak within the slack does not trim") {
  BusyThread t;
  t.Serve(kSteady + (200 << 10));  // 200 KiB above: under the 256 KiB slack
  for (int i = 0; i < 500; ++i) t.Serve(kSteady);
  CHECK(t.trims == 0);
}

TEST_CASE("busy_trim: a peak in every other period: one trim each, in the period after it") {
  BusyThread t;
  for (int period = 0; period < 20; ++period) {
    for (int i = 0; i < 100; ++i) t.Serve(period % 2 == 0 && i == 0 ? 4 << 20 : kSteady);
  }
  CHECK(t.trims == 10);
}

TEST_CASE("busy_trim: 0 is off") {
  BusyTrimPolicy policy(milliseconds(0), 256 << 10);
  CHECK_FALSE(policy.enabled());
  policy.Restart(0);
  policy.Served(100 << 20);
  policy.Served(0);
  CHECK_FALSE(policy.Due(1'000'000));
}

}  // namespace
}  // namespace tfpm::worker
