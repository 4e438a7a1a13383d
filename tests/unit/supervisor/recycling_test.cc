// Process recycling decisions (supervisor/recycling.h): when a worker's
// request to be replaced is refused, ignored, deferred or carried out, and
// when the old process is drained.
#include "supervisor/recycling.h"

#include <doctest/doctest.h>

namespace tfpm::supervisor {
namespace {

// A ready worker of the current generation, in its slot, alone in being
// recycled, with no reload running: replaced at once.
RecycleRequest Serving() {
  RecycleRequest r;
  r.known_cause = true;
  r.phase = WorkerPhase::kReady;
  r.holds_current_slot = true;
  return r;
}

TEST_CASE("recycling: a serving worker of the current generation is replaced at once") {
  CHECK(DecideRecycle(Serving()) == RecycleAction::kReplace);
}

TEST_CASE("recycling: an unknown cause is refused, before anything else") {
  RecycleRequest r = Serving();
  r.known_cause = false;
  CHECK(DecideRecycle(r) == RecycleAction::kRefuse);
  r.stopping = true;  // still refused (and logged), not silently ignored
  CHECK(DecideRecycle(r) == RecycleAction::kRefuse);
}

TEST_CASE("recycling: ignored while being replaced, not serving, or with the daemon stopping") {
  RecycleRequest r = Serving();
  r.being_replaced = true;
  CHECK(DecideRecycle(r) == RecycleAction::kIgnore);
  r = Serving();
  r.phase = WorkerPhase::kStarting;
  CHECK(DecideRecycle(r) == RecycleAction::kIgnore);
  r.phase = WorkerPhase::kStopping;
  CHECK(DecideRecycle(r) == RecycleAction::kIgnore);
  r = Serving();
  r.stopping = true;
  r.transition_or_start = true;  // stopping wins over deferring
  CHECK(DecideRecycle(r) == RecycleAction::kIgnore);
}

TEST_CASE("recycling: deferred during a reload or before the first generation is accepted") {
  RecycleRequest r = Serving();
  r.transition_or_start = true;
  CHECK(DecideRecycle(r) == RecycleAction::kDefer);
  // Even a worker of the old generation: deferred, since the reload may
  // be rolled back and it serve on.
  r.holds_current_slot = false;
  CHECK(DecideRecycle(r) == RecycleAction::kDefer);
}

TEST_CASE("recycling: a worker that no longer holds a slot of the current generation is ignored") {
  RecycleRequest r = Serving();
  r.holds_current_slot = false;
  CHECK(DecideRecycle(r) == RecycleAction::kIgnore);
}

TEST_CASE("recycling: one process of a pool at a time; the others are deferred") {
  RecycleRequest r = Serving();
  r.pool_busy = true;
  CHECK(DecideRecycle(r) == RecycleAction::kDefer);
}

TEST_CASE("recycling: the old process drains once its replacement is ready, or its pool moved on") {
  CHECK(OnRecycleProgress(/*in_its_slot=*/true, /*replacement_ready=*/false, false) == RecycleStep::kWait);
  CHECK(OnRecycleProgress(true, true, false) == RecycleStep::kDrain);
  CHECK(OnRecycleProgress(true, true, true) == RecycleStep::kDrain);  // its own replacement, even during a reload
  // A reload replaced its pool: drained at once when committed, not while
  // the new generation is on probation.
  CHECK(OnRecycleProgress(false, false, true) == RecycleStep::kWait);
  CHECK(OnRecycleProgress(false, false, false) == RecycleStep::kDrain);
}

}  // namespace
}  // namespace tfpm::supervisor
