// The generation transition's decisions (supervisor/transition.h): every
// reload path — success, refused, new workers failing, rollback, a reload
// during a reload, a crash during a drain — from states and clock values.
#include "supervisor/transition.h"

#include <doctest/doctest.h>

#include <vector>

namespace tfpm::supervisor {
namespace {

using std::chrono::milliseconds;
using State = NewSlot::State;

const os::TimePoint t0 = os::TimePoint{} + std::chrono::hours(1);
const milliseconds kProbation{1000};
const os::TimePoint kDeadline = t0 + milliseconds(60000);

NewSlot Running(WorkerPhase phase, std::optional<os::TimePoint> ready_at = std::nullopt) {
  NewSlot s;
  s.state = State::kRunning;
  s.phase = phase;
  s.ready_at = ready_at;
  return s;
}
NewSlot Unused() { return NewSlot{}; }
NewSlot RestartPending() {
  NewSlot s;
  s.state = State::kRestartPending;
  return s;
}

// A new-generation worker exits during its transition.
WorkerExit NewWorkerExit(WorkerPhase phase, bool clean) {
  WorkerExit e;
  e.phase = phase;
  e.clean = clean;
  e.of_new_generation = true;
  e.first_accepted = true;
  e.holds_slot = true;
  return e;
}

TEST_CASE("transition success: waits for every new worker, then for its probation, then commits") {
  std::vector<NewSlot> slots = {Running(WorkerPhase::kStarting), Running(WorkerPhase::kStarting)};
  auto c = CheckGeneration(slots, kProbation, kDeadline, t0);
  CHECK(c.verdict == Verdict::kWait);
  CHECK_FALSE(c.recheck);  // the workers' "ready" comes as an event
  slots[0] = Running(WorkerPhase::kReady, t0 + milliseconds(100));
  c = CheckGeneration(slots, kProbation, kDeadline, t0 + milliseconds(100));
  CHECK(c.verdict == Verdict::kWait);
  slots[1] = Running(WorkerPhase::kReady, t0 + milliseconds(300));
  c = CheckGeneration(slots, kProbation, kDeadline, t0 + milliseconds(300));
  CHECK(c.verdict == Verdict::kWait);
  CHECK(c.recheck == t0 + milliseconds(1100));  // the first probation to end
  c = CheckGeneration(slots, kProbation, kDeadline, t0 + milliseconds(1299));
  CHECK(c.verdict == Verdict::kWait);
  CHECK(c.recheck == t0 + milliseconds(1300));
  c = CheckGeneration(slots, kProbation, kDeadline, t0 + milliseconds(1300));
  CHECK(c.verdict == Verdict::kCommit);
}

TEST_CASE("transition: slots a pm dynamic pool did not start are not waited for") {
  const std::vector<NewSlot> slots = {Running(WorkerPhase::kReady, t0), Unused(), Unused()};
  CHECK(CheckGeneration(slots, kProbation, kDeadline, t0 + kProbation).verdict == Verdict::kCommit);
}

TEST_CASE("transition: a slot whose worker exited cleanly waits for its restart, a stopping one for its exit") {
  std::vector<NewSlot> slots = {Running(WorkerPhase::kReady, t0), RestartPending()};
  CHECK(CheckGeneration(slots, kProbation, kDeadline, t0 + milliseconds(5000)).verdict == Verdict::kWait);
  slots[1] = Running(WorkerPhase::kStopping, t0);
  CHECK(CheckGeneration(slots, kProbation, kDeadline, t0 + milliseconds(5000)).verdict == Verdict::kWait);
}

TEST_CASE("transition rollback: a generation not ready by the deadline is rolled back") {
  const std::vector<NewSlot> slots = {Running(WorkerPhase::kReady, t0), Running(WorkerPhase::kStarting)};
  CHECK(CheckGeneration(slots, kProbation, kDeadline, kDeadline - milliseconds(1)).verdict == Verdict::kWait);
  CHECK(CheckGeneration(slots, kProbation, kDeadline, kDeadline).verdict == Verdict::kRollBack);
  // Even one that would pass its probation just then: the deadline wins.
  const std::vector<NewSlot> ready = {Running(WorkerPhase::kReady, t0)};
  CHECK(CheckGeneration(ready, kProbation, kDeadline, kDeadline).verdict == Verdict::kRollBack);
}

TEST_CASE("transition: new workers failing roll it back: before ready, or dying during probation") {
  CHECK(OnWorkerExit(NewWorkerExit(WorkerPhase::kStarting, true)) == ExitAction::kRollBack);
  CHECK(OnWorkerExit(NewWorkerExit(WorkerPhase::kStarting, false)) == ExitAction::kRollBack);
  CHECK(OnWorkerExit(NewWorkerExit(WorkerPhase::kReady, false)) == ExitAction::kRollBack);
  // Exit 0 on its own after ready (it replaced itself): restarted, no rollback.
  CHECK(OnWorkerExit(NewWorkerExit(WorkerPhase::kReady, true)) == ExitAction::kRestart);
  // Asked to stop (SIGTERM by a rollback, a drain): never a failure.
  CHECK(OnWorkerExit(NewWorkerExit(WorkerPhase::kStopping, false)) == ExitAction::kFreeSlot);
}

TEST_CASE("transition: FailedStart counts exits before ready and deaths after, not a clean or asked exit") {
  CHECK(FailedStart(WorkerPhase::kStarting, true));
  CHECK(FailedStart(WorkerPhase::kStarting, false));
  CHECK(FailedStart(WorkerPhase::kReady, false));
  CHECK_FALSE(FailedStart(WorkerPhase::kReady, true));
  CHECK_FALSE(FailedStart(WorkerPhase::kStopping, false));
}

TEST_CASE("transition: an old worker crashing while the new generation starts is left to the outcome") {
  // Old generation: not of_new_generation; its slot now belongs to the new
  // pools, so it holds none. A rollback restarts its slot, a commit
  // replaces it.
  WorkerExit e;
  e.phase = WorkerPhase::kReady;
  e.clean = false;
  e.first_accepted = true;
  e.holds_slot = false;
  CHECK(OnWorkerExit(e) == ExitAction::kForget);
  CHECK(RestartOnRollBack(/*had_process=*/true, /*alive=*/false));
  CHECK_FALSE(RestartOnRollBack(true, true));
  CHECK_FALSE(RestartOnRollBack(false, false));  // pm dynamic: the slot was empty
}

TEST_CASE("transition: a crash during the drain is neither a failure nor restarted") {
  // After the commit the old workers drain (SIGQUIT): stopping, no slot.
  WorkerExit e;
  e.phase = WorkerPhase::kStopping;
  e.clean = false;  // killed on SIGSEGV mid-drain
  e.first_accepted = true;
  CHECK(OnWorkerExit(e) == ExitAction::kForget);
  // A drained process still in its slot (pm scaling): the slot is freed,
  // not restarted.
  e.holds_slot = true;
  CHECK(OnWorkerExit(e) == ExitAction::kFreeSlot);
  // A reload after the commit does not wait for the drain.
  CHECK(OnTransitionRequest(TransitionRequest::kSignal, /*in_progress=*/false, false) == RequestAction::kBegin);
}

TEST_CASE("transition: the pm-ctl answer waits for every old worker's drain, or the deadline") {
  CHECK_FALSE(DrainWaitDone(2, t0 + milliseconds(5000), t0));
  CHECK(DrainWaitDone(0, t0 + milliseconds(5000), t0));
  CHECK(DrainWaitDone(1, t0 + milliseconds(5000), t0 + milliseconds(5000)));
}

TEST_CASE("transition: a reload during a reload: SIGUSR2 is queued, pm-ctl refused, emergency skipped") {
  CHECK(OnTransitionRequest(TransitionRequest::kSignal, true, false) == RequestAction::kQueue);
  CHECK(OnTransitionRequest(TransitionRequest::kControl, true, false) == RequestAction::kRefuse);
  CHECK(OnTransitionRequest(TransitionRequest::kEmergency, true, false) == RequestAction::kSkip);
  // The queued one runs after the commit, unless the daemon is stopping.
  CHECK(RunQueuedReload(true, false));
  CHECK_FALSE(RunQueuedReload(true, true));
  CHECK_FALSE(RunQueuedReload(false, false));
  // Idle: each begins.
  CHECK(OnTransitionRequest(TransitionRequest::kControl, false, false) == RequestAction::kBegin);
  CHECK(OnTransitionRequest(TransitionRequest::kEmergency, false, false) == RequestAction::kBegin);
}

TEST_CASE("transition: a stopping daemon refuses reloads and skips emergency restarts") {
  CHECK(OnTransitionRequest(TransitionRequest::kSignal, false, true) == RequestAction::kRefuse);
  CHECK(OnTransitionRequest(TransitionRequest::kControl, false, true) == RequestAction::kRefuse);
  CHECK(OnTransitionRequest(TransitionRequest::kEmergency, false, true) == RequestAction::kSkip);
  // Its workers' exits are expected: nothing restarts, nothing rolls back.
  WorkerExit e = NewWorkerExit(WorkerPhase::kStopping, false);
  e.of_new_generation = false;
  e.stopping = true;
  CHECK(OnWorkerExit(e) == ExitAction::kForget);
}

TEST_CASE("transition: the first generation failing its start stops the daemon instead of looping") {
  WorkerExit e;
  e.phase = WorkerPhase::kStarting;
  e.holds_slot = true;
  e.first_accepted = false;
  CHECK(OnWorkerExit(e) == ExitAction::kFailStart);
  e.phase = WorkerPhase::kReady;  // died during its probation
  CHECK(OnWorkerExit(e) == ExitAction::kFailStart);
  e.clean = true;  // exited 0 on its own: restarted
  CHECK(OnWorkerExit(e) == ExitAction::kRestart);
  // Once accepted, a failure restarts the slot (RestartPolicy's backoff).
  e.clean = false;
  e.first_accepted = true;
  CHECK(OnWorkerExit(e) == ExitAction::kRestart);
}

}  // namespace
}  // namespace tfpm::supervisor
