#include "supervisor/restart_policy.h"

#include <doctest/doctest.h>

namespace tfpm::supervisor {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("a worker that ran long enough restarts at once") {
  RestartPolicy p;
  os::TimePoint t0{};
  CHECK(p.OnExit(t0, t0 + seconds(60)) == milliseconds(0));
  CHECK(p.consecutive_failures() == 0);
}

TEST_CASE("quick deaths back off exponentially up to the cap, a stable run resets") {
  RestartPolicy p;
  os::TimePoint t{};
  const milliseconds expected[] = {milliseconds(100), milliseconds(200), milliseconds(400),
                                   milliseconds(800), milliseconds(1600), milliseconds(3200),
                                   milliseconds(6400), milliseconds(12800), milliseconds(25600),
                                   milliseconds(30000), milliseconds(30000)};
  for (milliseconds want : expected) {
    CAPTURE(want.count());
    CHECK(p.OnExit(t, t + milliseconds(50)) == want);
    t += seconds(1);
  }
  CHECK(p.consecutive_failures() == 11);
  CHECK(p.OnExit(t, t + seconds(11)) == milliseconds(0));
  CHECK(p.consecutive_failures() == 0);
  CHECK(p.OnExit(t, t + milliseconds(1)) == milliseconds(100));
}

TEST_CASE("limits are configurable") {
  RestartPolicy p(RestartPolicy::Limits{milliseconds(10), milliseconds(35), seconds(1)});
  os::TimePoint t{};
  CHECK(p.OnExit(t, t) == milliseconds(10));
  CHECK(p.OnExit(t, t) == milliseconds(20));
  CHECK(p.OnExit(t, t) == milliseconds(35));
  CHECK(p.OnExit(t, t + seconds(1)) == milliseconds(0));
}

}  // namespace
}  // namespace tfpm::supervisor

namespace tfpm::supervisor {
namespace {

TEST_CASE("emergency restart fires when threshold crashes fall within the interval") {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  EmergencyRestart e(3, seconds(10));
  os::TimePoint t{};
  CHECK_FALSE(e.OnCrash(t));
  CHECK_FALSE(e.OnCrash(t + seconds(5)));
  CHECK(e.OnCrash(t + seconds(9)));
  // The count starts again after firing.
  CHECK_FALSE(e.OnCrash(t + seconds(9) + milliseconds(1)));
  CHECK_FALSE(e.OnCrash(t + seconds(10)));
  // Old crashes fall out of the window: 9.001 and 10 are older than 10 s at 20.5.
  CHECK_FALSE(e.OnCrash(t + milliseconds(20500)));
  CHECK_FALSE(e.OnCrash(t + seconds(21)));
  CHECK(e.OnCrash(t + seconds(22)));
}

TEST_CASE("emergency restart is off with threshold or interval 0") {
  os::TimePoint t{};
  EmergencyRestart off1(0, std::chrono::seconds(10));
  EmergencyRestart off2(1, std::chrono::seconds(0));
  for (int i = 0; i < 5; ++i) {
    CHECK_FALSE(off1.OnCrash(t));
    CHECK_FALSE(off2.OnCrash(t));
  }
}

}  // namespace
}  // namespace tfpm::supervisor
