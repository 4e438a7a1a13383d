// Reaping and restart (Supervisor members): collecting exited workers,
// logging each exit with the requests it took down, the emergency restart
// (emergency_restart_threshold crashes within emergency_restart_interval),
// carrying out OnWorkerExit's decision (transition.h: roll back, restart
// the slot after RestartPolicy's backoff, fail the start, free the slot)
// and starting the restarts that are due. Kept out of supervisor.cc, which
// keeps to the event loop.
#include "supervisor/supervisor.h"

#include <csignal>

#include "base/log.h"
#include "scoreboard/scoreboard.h"
#include "supervisor/exit_cause.h"
#include "supervisor/supervisor_internal.h"

namespace tfpm::supervisor {

namespace {

// "GET /a?x=1, POST /b" from a dead worker's scoreboard: the requests that
// were in flight on it (they failed with it).
std::string InFlight(os::SharedMemory* board) {
  if (board == nullptr) return "";
  scoreboard::Segment seg(board->data(), board->size());
  if (!seg.Valid()) return "";
  std::string out;
  for (uint32_t t = 0, n = seg.Threads(); t < n; ++t) {
    scoreboard::ThreadSnapshot snap;
    if (!scoreboard::ReadSlot(*seg.slot(t), &snap)) continue;
    if (scoreboard::Classify(snap.state) != scoreboard::ThreadClass::kActive) continue;
    if (snap.uri.empty() && snap.method.empty()) continue;
    if (!out.empty()) out += ", ";
    out += snap.method + " " + snap.uri;
  }
  return out;
}

// Counts the exit under its cause (exit_cause.h decides).
void CountExit(PoolCounters& counters, const Worker& w, const os::ExitInfo& info, bool daemon_stopping) {
  const auto cause = ProcessExitCause({.signaled = info.signaled,
                                       .code = info.code,
                                       .phase = w.state,
                                       .recycle_cause = w.recycle_cause,
                                       .signals_sent = w.signals_sent,
                                       .daemon_stopping = daemon_stopping});
  if (cause) ++counters.process_restarts[static_cast<size_t>(*cause)];
}

}  // namespace

void Supervisor::ReapChildren() {
  for (const os::ExitInfo& info : spawner_->Reap()) {
    if (workers_.count(info.pid) == 0) continue;
    // Kept connections it handed over just before exiting are still in its
    // socketpair: pass them on before the socket is closed.
    HandleNotify(info.pid);
    auto it = workers_.find(info.pid);
    if (it == workers_.end()) continue;
    std::unique_ptr<Worker> w = std::move(it->second);
    workers_.erase(it);
    OnWorkerExited(*w, info);
  }
}

void Supervisor::LogWorkerExit(Worker& w, const os::ExitInfo& info, os::TimePoint now) {
  ReadOutput(w, true);  // whatever it printed last
  const bool expected = w.state == Worker::State::kStopping || stop_mode_ != StopMode::kNone;
  const bool clean = !info.signaled && info.code == 0;
  std::string how = fmt::format("[pool {}] child {} {} after {:.3f} seconds from start", w.pool, info.pid,
                                info.Describe(), Seconds(w.started_at, now));
  if (expected || clean) {
    log::Notice("{}", how);
  } else {
    const std::string in_flight = InFlight(w.board ? &*w.board : nullptr);
    log::Warning("{}; {}", how, in_flight.empty() ? "no request in flight" : "requests in flight: " + in_flight);
  }
  poller_->Remove(w.notify.get());
  if (w.output) poller_->Remove(w.output.get());
  if (info.signaled && (info.code == SIGSEGV || info.code == SIGBUS) && stop_mode_ == StopMode::kNone &&
      emergency_.OnCrash(now)) {
    log::Alert("{} children exited on SIGSEGV or SIGBUS within {} ms: emergency restart of every pool",
               config_.daemon.emergency_restart_threshold, config_.daemon.emergency_restart_interval.count());
    if (OnTransitionRequest(TransitionRequest::kEmergency, transition_.has_value(), false) ==
        RequestAction::kBegin) {
      config::Config same = config_;
      (void)BeginTransition(std::move(same), options_.config_text, "", "emergency restart", nullptr);
    }
  }
}

void Supervisor::OnWorkerExited(Worker& w, const os::ExitInfo& info) {
  const os::TimePoint now = clock_->Now();
  LogWorkerExit(w, info, now);
  const bool clean = !info.signaled && info.code == 0;
  // Before or during its probation: how long after "ready" it died.
  const std::string when =
      w.ready_at ? fmt::format("{:.3f} s after it was ready (startup_probation {} ms)", Seconds(*w.ready_at, now),
                               config_.daemon.startup_probation.count())
                 : "before it was ready";
  const std::string failure =
      "[pool " + w.pool + "] child " + std::to_string(info.pid) + " " + info.Describe() + " " + when;
  Pool* pool = FindPool(w.pool);
  // The pool of that name may have fewer slots now (a reload lowered
  // `processes`): then no slot is this worker's.
  Slot* slot = pool != nullptr && static_cast<size_t>(w.slot) < pool->slots.size()
                   ? &pool->slots[static_cast<size_t>(w.slot)]
                   : nullptr;
  WorkerExit e;
  e.phase = w.state;
  e.clean = clean;
  e.of_new_generation = transition_ && w.generation == transition_->generation;
  e.first_accepted = ready_reported_;
  e.stopping = stop_mode_ != StopMode::kNone;
  e.holds_slot = slot != nullptr && slot->pid == info.pid;
  if (pool != nullptr) CountExit(*pool->counters, w, info, e.stopping);
  const ExitAction action = OnWorkerExit(e);
  if (action == ExitAction::kRollBack) return RollBackTransition(failure);
  if (pool != nullptr && w.board) {
    scoreboard::Segment seg(w.board->data(), w.board->size());
    if (seg.Valid()) pool->counters->Retire(seg);
  }
  if (action == ExitAction::kForget) return;
  slot->pid = 0;
  switch (action) {
    case ExitAction::kFailStart: {
      const Status failed = Status::IoError(failure);
      log::Alert("{}", failed.message());
      ready_reported_ = true;
      if (options_.on_ready) options_.on_ready(failed);
      exit_code_ = 1;
      BeginStop(StopMode::kFast, "startup failed");
      return;
    }
    case ExitAction::kRestart: {
      const auto delay = slot->restart.OnExit(w.ready_at.value_or(now), now);
      if (delay.count() > 0) {
        log::Warning("[pool {}] restarting slot {} in {} ms ({} quick failures in a row)", w.pool, w.slot,
                     delay.count(), slot->restart.consecutive_failures());
      }
      slot->restart_at = now + delay;
      if (!clean) OnWorkerFailure(*pool, w, info.Describe(), now);
      return;
    }
    case ExitAction::kFreeSlot:  // drained by ScalePools (the pool did not need it): not replaced
    case ExitAction::kForget:
    case ExitAction::kRollBack:
      return;
  }
}

void Supervisor::StartDueRestarts() {
  if (stop_mode_ != StopMode::kNone) return;
  const os::TimePoint now = clock_->Now();
  for (Pool& pool : pools_) {
    for (int i = 0; i < static_cast<int>(pool.slots.size()); ++i) {
      Slot& s = pool.slots[static_cast<size_t>(i)];
      if (!s.restart_at || *s.restart_at > now) continue;
      s.restart_at.reset();
      if (Status st = SpawnWorker(pool, i); !st.ok()) {
        log::Error("{}", st.message());
        s.restart_at = now + s.restart.OnExit(now, now);
      }
    }
  }
}

}  // namespace tfpm::supervisor
