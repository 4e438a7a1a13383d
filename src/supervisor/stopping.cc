// Stopping (Supervisor members): the stop of the whole (SIGTERM/SIGINT
// fast, SIGQUIT graceful), draining one worker (SIGQUIT, then SIGKILL after
// process_control_timeout), and the SIGKILLs that are due. Kept out of
// supervisor.cc, which keeps to the event loop.
#include <csignal>

#include "base/log.h"
#include "supervisor/supervisor.h"
#include "supervisor/supervisor_internal.h"

namespace tfpm::supervisor {

void Supervisor::DrainWorker(Worker& w) {
  if (w.state == Worker::State::kStopping) return;
  w.state = Worker::State::kStopping;
  SendSignal(*spawner_, w, SIGQUIT);
  const auto timeout = config_.daemon.process_control_timeout;
  if (timeout.count() > 0) w.kill_at = clock_->Now() + timeout + kGracefulExtra;
}

void Supervisor::RequestGracefulStop(const char* why) {
  const auto delay = config_.daemon.drain_delay;
  if (delay.count() <= 0 || stop_mode_ != StopMode::kNone || drain_at_) {
    // No delay, already stopping, or a second SIGQUIT during the delay.
    BeginStop(StopMode::kGraceful, why);
    return;
  }
  drain_at_ = clock_->Now() + delay;
  drain_why_ = why;
  log::Notice("{}: graceful stop after drain_delay ({} ms): still serving, the status listeners answer not ready",
              why, delay.count());
  Notify("STOPPING=1");
}

void Supervisor::BeginStop(StopMode mode, const char* why) {
  if (stop_mode_ == StopMode::kFast || stop_mode_ == mode) return;
  drain_at_.reset();
  stop_mode_ = mode;
  const bool graceful = mode == StopMode::kGraceful;
  log::Notice("{}: {} stop", why, graceful ? "graceful" : "fast");
  Notify("STOPPING=1");
  if (transition_) RollBackTransition("stopping");
  for (auto& [pid, w] : workers_) {
    w->state = Worker::State::kStopping;
    w->kill_at.reset();
    SendSignal(*spawner_, *w, graceful ? SIGQUIT : SIGTERM);
  }
  const auto timeout = config_.daemon.process_control_timeout;
  if (!graceful) {
    kill_deadline_ = clock_->Now() + kFastStopGrace;
  } else if (timeout.count() > 0) {
    kill_deadline_ = clock_->Now() + timeout + kGracefulExtra;
  }
}

void Supervisor::KillOverdue(os::TimePoint now) {
  if (kill_deadline_ && now >= *kill_deadline_) {
    for (auto& [pid, w] : workers_) {
      log::Warning("[pool {}] child {} still running; sending SIGKILL", w->pool, pid);
      SendSignal(*spawner_, *w, SIGKILL);
    }
    kill_deadline_.reset();
  }
  for (auto& [pid, w] : workers_) {
    if (w->kill_at && now >= *w->kill_at) {
      log::Warning("[pool {}] child {} still draining after process_control_timeout; sending SIGKILL", w->pool,
                   pid);
      SendSignal(*spawner_, *w, SIGKILL);
      w->kill_at.reset();
    }
  }
}

}  // namespace tfpm::supervisor
