#include "supervisor/exit_cause.h"

namespace tfpm::supervisor {

namespace {

std::optional<base::RestartCause> RecycleCause(std::string_view cause) {
  if (cause == "max_requests") return base::RestartCause::kMaxRequests;
  if (cause == "memory") return base::RestartCause::kMemory;
  return std::nullopt;
}

}  // namespace

std::optional<base::RestartCause> ProcessExitCause(const ReapedWorker& w) {
  if (w.daemon_stopping) return std::nullopt;
  if (w.signaled && (w.signals_sent & SignalBit(w.code)) == 0) return base::RestartCause::kCrash;
  if (!w.signaled && w.code == base::kExitStuckThread) return base::RestartCause::kTimeout;
  const bool clean = !w.signaled && w.code == 0;
  if (w.phase == WorkerPhase::kStopping || clean) {
    if (auto recycled = RecycleCause(w.recycle_cause)) return recycled;
  }
  if (w.phase == WorkerPhase::kStopping) return base::RestartCause::kReload;
  return base::RestartCause::kExit;
}

}  // namespace tfpm::supervisor
