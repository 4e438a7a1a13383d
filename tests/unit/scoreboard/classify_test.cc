#include <doctest/doctest.h>

#include <cstdint>

#include "scoreboard/scoreboard.h"

namespace tfpm::scoreboard {

TEST_CASE("every thread state has one class, and only Idle and Running count") {
  CHECK(Classify(ThreadState::kIdle) == ThreadClass::kIdle);
  CHECK(Classify(ThreadState::kRunning) == ThreadClass::kActive);
  // Neither idle nor active: pm-ctl status used to count these as idle.
  CHECK(Classify(ThreadState::kStarting) == ThreadClass::kStarting);
  CHECK(Classify(ThreadState::kFailed) == ThreadClass::kFailed);
  CHECK(Classify(ThreadState::kStopped) == ThreadClass::kAbsent);
}

TEST_CASE("a state value outside the enum (garbled shared memory) is no thread") {
  for (uint32_t raw : {2u, 4u, 7u, 0xffffffffu}) {
    CAPTURE(raw);
    CHECK(Classify(static_cast<ThreadState>(raw)) == ThreadClass::kAbsent);
  }
}

}  // namespace tfpm::scoreboard
