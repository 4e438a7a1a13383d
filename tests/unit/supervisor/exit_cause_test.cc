#include "supervisor/exit_cause.h"

#include <doctest/doctest.h>

#include <csignal>

namespace tfpm::supervisor {
namespace {

using base::RestartCause;

ReapedWorker Exited(int code, WorkerPhase phase = WorkerPhase::kReady) {
  ReapedWorker w;
  w.code = code;
  w.phase = phase;
  return w;
}

ReapedWorker Killed(int signal, WorkerPhase phase = WorkerPhase::kReady, uint64_t sent = 0) {
  ReapedWorker w = Exited(signal, phase);
  w.signaled = true;
  w.signals_sent = sent;
  return w;
}

TEST_CASE("a signal the supervisor did not send is a crash, in any phase") {
  CHECK(ProcessExitCause(Killed(SIGKILL)) == RestartCause::kCrash);
  CHECK(ProcessExitCause(Killed(SIGSEGV, WorkerPhase::kStarting)) == RestartCause::kCrash);
  // Drained, but it died of something else than what it was sent.
  CHECK(ProcessExitCause(Killed(SIGSEGV, WorkerPhase::kStopping, SignalBit(SIGQUIT))) == RestartCause::kCrash);
  ReapedWorker recycled = Killed(SIGABRT, WorkerPhase::kStopping, SignalBit(SIGQUIT));
  recycled.recycle_cause = "max_requests";
  CHECK(ProcessExitCause(recycled) == RestartCause::kCrash);
}

TEST_CASE("a drained worker is a reload, the SIGKILL after process_control_timeout included") {
  CHECK(ProcessExitCause(Exited(0, WorkerPhase::kStopping)) == RestartCause::kReload);
  CHECK(ProcessExitCause(Exited(1, WorkerPhase::kStopping)) == RestartCause::kReload);
  CHECK(ProcessExitCause(Killed(SIGKILL, WorkerPhase::kStopping, SignalBit(SIGQUIT) | SignalBit(SIGKILL))) ==
        RestartCause::kReload);
  // A rolled-back generation's worker, stopped with SIGTERM.
  CHECK(ProcessExitCause(Killed(SIGTERM, WorkerPhase::kStopping, SignalBit(SIGTERM))) == RestartCause::kReload);
}

TEST_CASE("process recycling counts under its cause") {
  ReapedWorker w = Exited(0, WorkerPhase::kStopping);
  w.recycle_cause = "max_requests";
  CHECK(ProcessExitCause(w) == RestartCause::kMaxRequests);
  w.recycle_cause = "memory";
  CHECK(ProcessExitCause(w) == RestartCause::kMemory);
  // Killed at the drain deadline: still the recycle.
  w = Killed(SIGKILL, WorkerPhase::kStopping, SignalBit(SIGQUIT) | SignalBit(SIGKILL));
  w.recycle_cause = "memory";
  CHECK(ProcessExitCause(w) == RestartCause::kMemory);
  // It asked, then left cleanly before it was drained.
  w = Exited(0);
  w.recycle_cause = "max_requests";
  CHECK(ProcessExitCause(w) == RestartCause::kMaxRequests);
  // It asked, then failed on its own: not the recycle.
  w = Exited(2);
  w.recycle_cause = "max_requests";
  CHECK(ProcessExitCause(w) == RestartCause::kExit);
  // An unknown cause of a drained worker is a reload.
  w = Exited(0, WorkerPhase::kStopping);
  w.recycle_cause = "other";
  CHECK(ProcessExitCause(w) == RestartCause::kReload);
}

TEST_CASE("a thread stuck after request_terminate_timeout is a timeout") {
  CHECK(ProcessExitCause(Exited(base::kExitStuckThread)) == RestartCause::kTimeout);
  CHECK(ProcessExitCause(Exited(base::kExitStuckThread, WorkerPhase::kStopping)) == RestartCause::kTimeout);
}

TEST_CASE("leaving on its own, with any code, is an exit") {
  CHECK(ProcessExitCause(Exited(0)) == RestartCause::kExit);
  CHECK(ProcessExitCause(Exited(1)) == RestartCause::kExit);
  CHECK(ProcessExitCause(Exited(255, WorkerPhase::kStarting)) == RestartCause::kExit);
  // A signal it was sent outside a drain (the supervisor never does that).
  CHECK(ProcessExitCause(Killed(SIGTERM, WorkerPhase::kReady, SignalBit(SIGTERM))) == RestartCause::kExit);
}

TEST_CASE("nothing is counted while the daemon stops") {
  ReapedWorker w = Killed(SIGSEGV);
  w.daemon_stopping = true;
  CHECK_FALSE(ProcessExitCause(w).has_value());
  w = Exited(0, WorkerPhase::kStopping);
  w.daemon_stopping = true;
  CHECK_FALSE(ProcessExitCause(w).has_value());
}

TEST_CASE("SignalBit keeps to 64 bits") {
  CHECK(SignalBit(SIGKILL) == (uint64_t{1} << SIGKILL));
  CHECK(SignalBit(0) == 0);
  CHECK(SignalBit(-1) == 0);
  CHECK(SignalBit(64) == 0);
}

}  // namespace
}  // namespace tfpm::supervisor
