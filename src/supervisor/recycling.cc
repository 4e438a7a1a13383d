#include "supervisor/recycling.h"

namespace tfpm::supervisor {

RecycleAction DecideRecycle(const RecycleRequest& r) {
  // A worker runs PHP: its bytes are not trusted either.
  if (!r.known_cause) return RecycleAction::kRefuse;
  // Already being replaced, stopping, or not serving: nothing to do (a
  // reload replaces it anyway).
  if (r.being_replaced || r.phase != WorkerPhase::kReady || r.stopping) return RecycleAction::kIgnore;
  // After the reload or the start, unless replaced by then.
  if (r.transition_or_start) return RecycleAction::kDefer;
  if (!r.holds_current_slot) return RecycleAction::kIgnore;
  // One process of a pool at a time: the others wait their turn.
  if (r.pool_busy) return RecycleAction::kDefer;
  return RecycleAction::kReplace;
}

RecycleStep OnRecycleProgress(bool in_its_slot, bool replacement_ready, bool transition) {
  if (in_its_slot) return replacement_ready ? RecycleStep::kDrain : RecycleStep::kWait;
  // Its pool moved on to a new generation: drained, unless that generation
  // is still on probation (then it replaces the worker once committed).
  return transition ? RecycleStep::kWait : RecycleStep::kDrain;
}

}  // namespace tfpm::supervisor
