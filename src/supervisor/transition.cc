#include "supervisor/transition.h"

#include <vector>

#include "supervisor/pool_health.h"

namespace tfpm::supervisor {

RequestAction OnTransitionRequest(TransitionRequest request, bool in_progress, bool stopping) {
  switch (request) {
    case TransitionRequest::kSignal:
      // SIGUSR2 during a transition is kept for after it (the new config
      // may have been written meanwhile); a stopping daemon refuses it.
      if (in_progress) return RequestAction::kQueue;
      return stopping ? RequestAction::kRefuse : RequestAction::kBegin;
    case TransitionRequest::kControl:
      // pm-ctl waits for its answer: it is told at once instead.
      return stopping || in_progress ? RequestAction::kRefuse : RequestAction::kBegin;
    case TransitionRequest::kEmergency:
      return stopping || in_progress ? RequestAction::kSkip : RequestAction::kBegin;
  }
  return RequestAction::kRefuse;
}

GenerationCheck CheckGeneration(std::span<const NewSlot> slots, std::chrono::milliseconds probation,
                                os::TimePoint deadline, os::TimePoint now) {
  GenerationCheck c;
  if (now >= deadline) {
    c.verdict = Verdict::kRollBack;
    return c;
  }
  std::vector<std::optional<os::TimePoint>> ready;
  for (const NewSlot& s : slots) {
    if (s.state == NewSlot::State::kUnused) continue;
    // A process still to start, starting, or stopping: its event comes.
    if (s.state != NewSlot::State::kRunning || s.phase != WorkerPhase::kReady) return c;
    ready.push_back(s.ready_at);
  }
  const ProbationVerdict v = CheckProbation(ready, probation, now);
  if (v.passed) {
    c.verdict = Verdict::kCommit;
  } else {
    c.recheck = v.recheck;
  }
  return c;
}

bool FailedStart(WorkerPhase phase, bool clean) {
  return phase == WorkerPhase::kStarting || (phase == WorkerPhase::kReady && !clean);
}

ExitAction OnWorkerExit(const WorkerExit& e) {
  const bool failed_start = FailedStart(e.phase, e.clean);
  // Its generation is still on probation: the old one keeps serving.
  if (e.of_new_generation && failed_start) return ExitAction::kRollBack;
  if (e.stopping || !e.holds_slot) return ExitAction::kForget;
  // Drained (pm scaling, recycling): the pool did not need it.
  if (e.phase == WorkerPhase::kStopping) return ExitAction::kFreeSlot;
  // The first generation died before its probation ended: do not loop.
  if (!e.first_accepted && failed_start) return ExitAction::kFailStart;
  return ExitAction::kRestart;
}

}  // namespace tfpm::supervisor
