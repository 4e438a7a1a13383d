#include "worker/burst_yield.h"

#include <doctest/doctest.h>

#include <cstdint>

namespace tfpm::worker {
namespace {

using std::chrono::microseconds;

// A PHP thread's loop as Dispatcher::ServeOne runs it, on a fake clock:
// before each wait ShouldYield (and, if so, a yield and Restart), then a
// wait of `wait_us`, then a request of `service_us`. Returns how many of
// `requests` were followed by a yield.
int Run(BurstYield& b, int64_t& now, int requests, int64_t wait_us, int64_t service_us) {
  int yields = 0;
  for (int i = 0; i < requests; ++i) {
    if (b.ShouldYield(now)) {
      ++yields;
      now += 1;  // the yield itself
      b.Restart(now);
    }
    const int64_t before = now;
    now += wait_us;
    b.Waited(before, now);
    now += service_us;
  }
  return yields;
}

TEST_CASE("a thread serving back to back yields once per `after` of work") {
  BurstYield b(microseconds(300));
  int64_t now = 1'000'000;
  // 40 µs requests always ready (a 2 µs epoll_wait): 300 µs of burst is
  // 8 requests, so one yield per 8 requests.
  const int yields = Run(b, now, 800, 2, 40);
  CHECK(yields >= 95);
  CHECK(yields <= 100);
}

TEST_CASE("a request longer than `after` is followed by a yield every time") {
  BurstYield b(microseconds(300));
  int64_t now = 5;
  CHECK(Run(b, now, 1, 2, 600) == 0);  // the first wait only starts the burst
  CHECK(Run(b, now, 10, 2, 600) == 10);
}

TEST_CASE("a thread that sleeps between requests never yields") {
  BurstYield b(microseconds(300));
  int64_t now = 0;
  // Each wait sleeps (longer than kSleptUs): the burst restarts each time,
  // even with requests of 250 µs.
  CHECK(Run(b, now, 1000, BurstYield::kSleptUs + 1, 250) == 0);
}

TEST_CASE("a short wait does not end the burst; a long one does") {
  BurstYield b(microseconds(100));
  CHECK_FALSE(b.ShouldYield(0));
  b.Waited(10, 10 + BurstYield::kSleptUs);  // not longer than kSleptUs: still busy
  CHECK(b.ShouldYield(100));
  b.Waited(100, 100 + BurstYield::kSleptUs + 1);  // slept: the burst starts at 151
  CHECK_FALSE(b.ShouldYield(250));
  CHECK(b.ShouldYield(251));
  b.Restart(251);
  CHECK_FALSE(b.ShouldYield(350));
}

TEST_CASE("after <= 0 never yields") {
  BurstYield b(microseconds(0));
  int64_t now = 0;
  CHECK(Run(b, now, 100, 0, 1000) == 0);
}

}  // namespace
}  // namespace tfpm::worker
