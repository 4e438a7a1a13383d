// MainThread: the decisions of a worker process's main thread, which runs
// no PHP. Each Tick() — after a wake-up from poll(), or its timeout — it
// scales the PHP threads (pm dynamic/ondemand), asks for a replacement when
// process recycling is due, sheds requests that waited max_wait_time, runs
// the request timeouts, restarts worker scripts when watched files changed,
// acts on signals (SIGTERM/SIGINT exit now, SIGQUIT drain, SIGUSR1 reopen
// logs), takes what the supervisor hands over, notices the supervisor is
// gone, and decides when the process stops or exits.
//
// Everything it acts on is injected (DispatcherControl, SupervisorLink,
// RequestTimeouts, LogFiles, os::Clock), so each decision is unit-tested
// with fakes (tests/unit/worker/main_thread_test.cc); it makes no system
// call itself. RunMainThread() is the real loop around it (poll(2) and the
// signalfd).
//
// Not thread-safe: the process's main thread only. Every pointer in
// MainThreadDeps is required (non-null) and must outlive the MainThread;
// files_changed may be empty.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/rate_limit.h"
#include "base/restart_cause.h"
#include "os/clock.h"
#include "os/signals.h"
#include "scoreboard/scoreboard.h"
#include "worker/handover.h"
#include "worker/load_shedder.h"
#include "worker/recycle_check.h"
#include "worker/dispatcher_control.h"
#include "worker/supervisor_link.h"
#include "worker/thread_scaler.h"
#include "worker/watchdog.h"

namespace tfpm::worker {

// Exit status of a worker that left because a thread did not come back
// from request_terminate_timeout (the supervisor restarts it and counts a
// process restart of cause timeout).
using base::kExitStuckThread;

struct MainThreadOptions {
  std::string pool;  // for log lines
  int max_threads = 1;
  // SIGQUIT or a lost supervisor: requests still running this long after
  // the drain began are cut (exit). 0 = wait for them.
  std::chrono::milliseconds process_control_timeout{0};
};

struct MainThreadDeps {
  const os::Clock* clock = nullptr;
  DispatcherControl* server = nullptr;
  SupervisorLink* supervisor = nullptr;
  RequestTimeouts* timeouts = nullptr;
  ThreadScaler* scaler = nullptr;
  LoadShedder* shedder = nullptr;
  RecycleCheck* recycle = nullptr;
  LogFiles* logs = nullptr;
  scoreboard::Header* board = nullptr;  // accepting is cleared on drain
  // Watched files changed (worker mode): restart the worker scripts.
  std::function<void()> files_changed;
};

class MainThread {
 public:
  // A draining worker exits once no request runs and its kept connections
  // have all been quiet this long (Dispatcher::QuietFor), when it has no
  // supervisor to hand them to.
  static constexpr std::chrono::milliseconds kDrainQuiet{300};
  static constexpr int kScaleTickMs = 25;

  // What woke the main thread up.
  struct Wakeup {
    std::vector<os::SignalInfo> signals;
    bool files_changed = false;       // the watcher had events
    bool supervisor_readable = false; // the notify socket: data, fds or EOF
  };
  // What the process does after a Tick.
  struct Step {
    enum class Kind {
      kContinue,  // wait and Tick again
      kStop,      // drained: stop the threads, join them, shut PHP down, exit 0
      kExitNow,   // _exit(exit_code) at once, cutting what runs
    };
    Kind kind = Kind::kContinue;
    int exit_code = 0;
  };

  MainThread(MainThreadOptions options, MainThreadDeps deps);

  // Before each wait: runs the connection clock (DispatcherControl::Tick) and
  // returns how long to wait for a wake-up, -1 = until one.
  int PrepareWait();
  // Whether the wait should also wake on a new connection on the listeners
  // (no idle thread and room for one: ondemand's first request).
  bool WatchListeners();
  // The supervisor's socket while it is there, else -1.
  int supervisor_fd() const { return supervisor_alive_ ? deps_.supervisor->fd() : -1; }

  Step Tick(const Wakeup& wakeup);

  bool draining() const { return draining_; }
  bool replacing() const { return replacing_; }
  bool supervisor_alive() const { return supervisor_alive_; }

 private:
  int64_t NowMs() const;
  void BeginDrain(const char* why);
  void Scale();
  void ShedOverdue();
  void CheckRecycle();
  void WatchTimeouts();
  std::optional<Step> HandleSignals(const std::vector<os::SignalInfo>& signals);
  void HandleSupervisor();
  Step DecideExit();
  bool recycling() const;

  const MainThreadOptions options_;
  const MainThreadDeps deps_;
  bool draining_ = false;
  std::optional<os::TimePoint> drain_deadline_;
  bool replacing_ = false;  // a thread is stuck: drain the others, then exit for a replacement
  bool supervisor_alive_;
  base::RateLimit busy_warning_{10000};  // "seems busy", at most once per 10 s
};

// The real loop: waits in poll(2) on the signalfd, the watcher, the
// supervisor's socket and (when asked) the listeners, then Ticks, until a
// Step says to stop (returned) or to exit now (os::ExitNow).
// `watcher_fd`: -1 for none; `drain_watcher()` drains its events, true if any.
void RunMainThread(MainThread& main, os::SignalFd& signals, int watcher_fd,
                   const std::function<bool()>& drain_watcher, const std::vector<int>& listener_fds);

}  // namespace tfpm::worker
