// The generation transition: reload, rolling restart of one pool, emergency
// restart, and their rollback (docs/architecture.md "Reload and
// generations"). The Supervisor keeps the state (Supervisor::Transition:
// the old pools, config and pids to restore or drain) and carries out the
// actions; the decisions are these pure functions, unit-tested with plain
// values and clock readings in tests/unit/supervisor/transition_test.cc.
//
// The state machine:
//
//   idle ──request: kBegin──▶ starting generation N+1 ──CheckGeneration──┐
//     ▲        (N keeps serving; both accept on the same sockets)         │
//     │                                                                    │
//     ├──── kCommit: drain generation N (SIGQUIT), answer pm-ctl once ◀───┤
//     │            every old worker said "draining" (DrainWaitDone)        │
//     └──── kRollBack: stop N+1 (SIGTERM), restore N's pools and config ◀─┘
//                  (a worker of N+1 failed its start: OnWorkerExit, or the
//                   deadline passed, or the daemon is stopping)
//
// A request while a transition runs: SIGUSR2 is queued and run after the
// commit (RunQueuedReload); pm-ctl's reload and restart are refused; an
// emergency restart is skipped (the transition replaces the workers anyway).
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>

#include "os/clock.h"

namespace tfpm::supervisor {

// A worker process as the supervisor tracks it.
enum class WorkerPhase { kStarting, kReady, kStopping };

// ------------------------------------------------------------ requests

enum class TransitionRequest {
  kSignal,     // SIGUSR2
  kControl,    // pm-ctl reload / restart POOL
  kEmergency,  // emergency_restart_threshold crashes
};
enum class RequestAction {
  kBegin,   // load and check the config, then start the new generation
  kQueue,   // run it once the transition in progress is committed
  kRefuse,  // answer with an error; nothing changes
  kSkip,    // nothing to do
};
RequestAction OnTransitionRequest(TransitionRequest request, bool in_progress, bool stopping);

// After a commit: whether a queued SIGUSR2 reload runs now.
inline bool RunQueuedReload(bool queued, bool stopping) { return queued && !stopping; }

// ------------------------------------------------- the new generation

// One slot of a pool of the new generation.
struct NewSlot {
  enum class State {
    kUnused,          // pm dynamic/ondemand: no process started in it
    kRestartPending,  // its process exited cleanly; a restart is due
    kRunning,         // a process runs in it (see phase)
  } state = State::kUnused;
  WorkerPhase phase = WorkerPhase::kStarting;
  std::optional<os::TimePoint> ready_at;  // when it reported ready
};

enum class Verdict { kWait, kCommit, kRollBack };
struct GenerationCheck {
  Verdict verdict = Verdict::kWait;
  // kWait: when a probation ends and the check can change (nullopt: on the
  // next event, or at the deadline).
  std::optional<os::TimePoint> recheck;
};

// kRollBack once `deadline` has passed; kCommit when every slot in use
// holds a ready process that has been ready for `probation`
// (CheckProbation, pool_health.h); otherwise kWait.
GenerationCheck CheckGeneration(std::span<const NewSlot> slots, std::chrono::milliseconds probation,
                                os::TimePoint deadline, os::TimePoint now);

// ------------------------------------------------------ a worker exits

// Whether an exit fails the start of the worker's generation: it exited
// before it was ready, or died (a signal or a non-zero code) after. A
// worker that exits 0 on its own after it was ready (it replaced itself)
// has not failed, nor one that was asked to stop.
bool FailedStart(WorkerPhase phase, bool clean);

struct WorkerExit {
  WorkerPhase phase = WorkerPhase::kStarting;
  bool clean = false;              // exit code 0, no signal
  bool of_new_generation = false;  // a transition runs and it is of its generation
  bool first_accepted = false;     // the first generation passed its probation
  bool stopping = false;           // the daemon is stopping
  bool holds_slot = false;         // its pool exists and its slot still names it
};
enum class ExitAction {
  kRollBack,   // roll the transition back; nothing else
  kForget,     // not its slot's process any more (replaced, old generation)
  kFreeSlot,   // its slot is free; not replaced (it was drained)
  kFailStart,  // the first generation could not start: report, exit 1
  kRestart,    // restart its slot (RestartPolicy's delay)
};
ExitAction OnWorkerExit(const WorkerExit& exit);

// ----------------------------------------------------------- the drain

// A committed reload's pm-ctl answer waits until every old worker has said
// "draining" or exited (`remaining` is how many have not), or `deadline`.
inline bool DrainWaitDone(size_t remaining, os::TimePoint deadline, os::TimePoint now) {
  return remaining == 0 || now >= deadline;
}

// A rollback restores an old slot: one whose process exited meanwhile
// (`alive` false) was not replaced, so it restarts now.
inline bool RestartOnRollBack(bool had_process, bool alive) { return had_process && !alive; }

}  // namespace tfpm::supervisor
