// Process recycling on the supervisor's side (docs/architecture.md "Process
// recycling"): what to do when a worker asks to be replaced
// (ipc/notify.h Message::kRecycle*), and when the old process is
// drained. Pure: facts in, a decision out; the Supervisor gathers the facts
// (RequestRecycle, CompleteRecycles) and acts. Unit-tested in
// tests/unit/supervisor/recycling_test.cc.
#pragma once

#include "supervisor/transition.h"

namespace tfpm::supervisor {

// A worker asked to be recycled.
struct RecycleRequest {
  bool known_cause = false;        // one of ipc::kRecycleCauses
  bool being_replaced = false;     // its replacement is already starting
  WorkerPhase phase = WorkerPhase::kReady;
  bool stopping = false;           // the daemon is stopping
  bool transition_or_start = false;  // a reload runs, or the first generation is not accepted yet
  bool holds_current_slot = false;   // its pool's current generation, and its slot names it
  bool pool_busy = false;          // another process of its pool is being replaced
};
enum class RecycleAction {
  kRefuse,   // not a cause we know: a rate-limited warning, nothing else
  kIgnore,   // nothing to do (being replaced, not serving, stopping, not the current generation)
  kDefer,    // later: after the reload or the start, or after the pool's other replacement
  kReplace,  // start its replacement in its slot now
};
RecycleAction DecideRecycle(const RecycleRequest& r);

// A worker being recycled: drain it now, or wait. `in_its_slot`: its pool's
// current generation is its own and its slot exists (so the slot holds its
// replacement); `replacement_ready`: that replacement reported ready;
// `transition`: a reload runs (its new generation replaces the worker).
enum class RecycleStep { kWait, kDrain };
RecycleStep OnRecycleProgress(bool in_its_slot, bool replacement_ready, bool transition);

}  // namespace tfpm::supervisor
