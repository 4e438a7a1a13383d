#include "supervisor/pool_health.h"

#include <doctest/doctest.h>

#include <vector>

namespace tfpm::supervisor {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Change = PoolHealth::Change;

const os::TimePoint t0{};

PoolHealth Health(int threshold, milliseconds window) { return PoolHealth(PoolHealth::Limits{threshold, window}); }

TEST_CASE("quick failures in a row mark the pool failed at the threshold, once") {
  PoolHealth h = Health(3, seconds(10));
  os::TimePoint t = t0;
  // Died before ready, died 70 ms after ready: both quick.
  CHECK(h.OnUnexpectedExit(std::nullopt, t) == Change::kNone);
  t += seconds(1);
  CHECK(h.OnUnexpectedExit(t - milliseconds(70), t) == Change::kNone);
  CHECK_FALSE(h.failed());
  CHECK(h.quick_failures() == 2);
  t += seconds(1);
  CHECK(h.OnUnexpectedExit(t - seconds(9), t) == Change::kFailed);
  CHECK(h.failed());
  CHECK(h.failed_since() == t);
  CHECK(h.times_failed() == 1);
  // More quick failures while failed change nothing.
  t += seconds(1);
  CHECK(h.OnUnexpectedExit(std::nullopt, t) == Change::kNone);
  CHECK(h.failed());
  CHECK(h.failed_since() == t - seconds(1));
  CHECK(h.times_failed() == 1);
}

TEST_CASE("an exit after failure_window of service ends the run of quick failures") {
  PoolHealth h = Health(3, seconds(10));
  os::TimePoint t = t0;
  CHECK(h.OnUnexpectedExit(std::nullopt, t) == Change::kNone);
  CHECK(h.OnUnexpectedExit(std::nullopt, t) == Change::kNone);
  t += seconds(30);
  // Ready for exactly the window: a request crashed a worker that served.
  CHECK(h.OnUnexpectedExit(t - seconds(10), t) == Change::kNone);
  CHECK(h.quick_failures() == 0);
  CHECK(h.OnUnexpectedExit(std::nullopt, t) == Change::kNone);
  CHECK(h.OnUnexpectedExit(std::nullopt, t) == Change::kNone);
  CHECK_FALSE(h.failed());
  CHECK(h.OnUnexpectedExit(std::nullopt, t) == Change::kFailed);
}

TEST_CASE("a worker up for failure_window resets the count and brings a failed pool back") {
  PoolHealth h = Health(2, seconds(5));
  os::TimePoint t = t0;
  CHECK(h.OnUnexpectedExit(std::nullopt, t) == Change::kNone);
  // A live worker, ready for less than the window: nothing yet.
  CHECK(h.OnTick(t, t + seconds(4)) == Change::kNone);
  CHECK(h.quick_failures() == 1);
  CHECK(h.OnTick(t, t + seconds(5)) == Change::kNone);  // healthy: only the count resets
  CHECK(h.quick_failures() == 0);

  t += seconds(10);
  CHECK(h.OnUnexpectedExit(std::nullopt, t) == Change::kNone);
  CHECK(h.OnUnexpectedExit(t, t + milliseconds(100)) == Change::kFailed);
  t += seconds(1);
  CHECK(h.NextCheck(std::nullopt) == std::nullopt);  // no worker up: nothing to wait for
  CHECK(h.OnTick(std::nullopt, t) == Change::kNone);
  const os::TimePoint ready = t + seconds(30);  // the retry after backoff came up
  CHECK(h.NextCheck(ready) == ready + seconds(5));
  CHECK(h.OnTick(ready, ready + seconds(4)) == Change::kNone);
  CHECK(h.failed());
  CHECK(h.OnTick(ready, ready + seconds(5)) == Change::kRecovered);
  CHECK_FALSE(h.failed());
  CHECK(h.quick_failures() == 0);
  CHECK(h.NextCheck(ready) == std::nullopt);
  // It can fail again, and says how often it did.
  CHECK(h.OnUnexpectedExit(std::nullopt, ready + seconds(6)) == Change::kNone);
  CHECK(h.OnUnexpectedExit(std::nullopt, ready + seconds(6)) == Change::kFailed);
  CHECK(h.times_failed() == 2);
}

TEST_CASE("failure_threshold 0 never marks the pool failed") {
  PoolHealth h = Health(0, seconds(10));
  for (int i = 0; i < 1000; ++i) CHECK(h.OnUnexpectedExit(std::nullopt, t0) == Change::kNone);
  CHECK_FALSE(h.failed());
}

TEST_CASE("probation: every worker must be ready for the probation") {
  using Ready = std::optional<os::TimePoint>;
  const milliseconds probation(1000);
  SUBCASE("a worker not ready yet holds the generation; its event comes by itself") {
    std::vector<Ready> r = {t0, std::nullopt};
    ProbationVerdict v = CheckProbation(r, probation, t0 + seconds(5));
    CHECK_FALSE(v.passed);
    CHECK(v.recheck == std::nullopt);
  }
  SUBCASE("ready workers pass when the last one's probation ends") {
    std::vector<Ready> r = {t0, t0 + milliseconds(300)};
    ProbationVerdict v = CheckProbation(r, probation, t0 + milliseconds(500));
    CHECK_FALSE(v.passed);
    CHECK(v.recheck == t0 + milliseconds(1000));  // the earliest end first
    v = CheckProbation(r, probation, t0 + milliseconds(1000));
    CHECK_FALSE(v.passed);
    CHECK(v.recheck == t0 + milliseconds(1300));
    v = CheckProbation(r, probation, t0 + milliseconds(1300));
    CHECK(v.passed);
    CHECK(v.recheck == std::nullopt);
  }
  SUBCASE("probation 0: ready is enough") {
    std::vector<Ready> r = {t0, t0};
    CHECK(CheckProbation(r, milliseconds(0), t0).passed);
  }
}

}  // namespace
}  // namespace tfpm::supervisor
