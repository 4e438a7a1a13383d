// Why a worker process ended, as the supervisor counts it per pool
// (PoolCounters::process_restarts, shown as `tfpm_process_restarts_<cause>`
// and by `pm-ctl status`): one base::RestartCause, the enum the thread
// restarts use too. A pure decision on what the supervisor knows of the
// reaped worker, unit-tested in tests/unit/supervisor/exit_cause_test.cc;
// Supervisor::OnWorkerExited (reaping.cc) fills ReapedWorker and counts.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/restart_cause.h"
#include "supervisor/transition.h"

namespace tfpm::supervisor {

// The bit of `signal` in ReapedWorker::signals_sent.
constexpr uint64_t SignalBit(int signal) {
  return signal > 0 && signal < 64 ? uint64_t{1} << static_cast<unsigned>(signal) : 0;
}

struct ReapedWorker {
  bool signaled = false;  // os::ExitInfo: killed by a signal
  int code = 0;           // its exit code, or the signal
  WorkerPhase phase = WorkerPhase::kStarting;  // kStopping: the supervisor drained or stopped it
  // Process recycling: the cause it asked to be replaced for
  // ("max_requests", "memory"; "" = none).
  std::string_view recycle_cause;
  uint64_t signals_sent = 0;     // SignalBit of each signal the supervisor sent it
  bool daemon_stopping = false;  // the whole daemon is stopping
};

// nullopt while the daemon stops (not a restart). Otherwise, first match:
//  * crash: killed by a signal the supervisor did not send it;
//  * timeout: exited with base::kExitStuckThread (a thread did not come
//    back from request_terminate_timeout);
//  * max_requests / memory: drained (or exited cleanly) after asking for
//    process recycling for that cause;
//  * reload: drained by the supervisor (reload, pm-ctl restart, scale-down,
//    a rolled-back generation), however it ended (the SIGKILL after
//    process_control_timeout included);
//  * exit: it ended on its own, with any exit code, without being asked.
std::optional<base::RestartCause> ProcessExitCause(const ReapedWorker& w);

}  // namespace tfpm::supervisor
