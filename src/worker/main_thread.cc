#include "worker/main_thread.h"

#include <poll.h>

#include "base/log.h"
#include "os/fd_io.h"
#include "os/this_process.h"

namespace tfpm::worker {

MainThread::MainThread(MainThreadOptions options, MainThreadDeps deps)
    : options_(std::move(options)), deps_(std::move(deps)), supervisor_alive_(deps_.supervisor->fd() >= 0) {}

int64_t MainThread::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deps_.clock->Now().time_since_epoch()).count();
}

bool MainThread::recycling() const { return deps_.recycle->enabled() && !draining_ && supervisor_alive_; }

int MainThread::PrepareWait() {
  int wait_ms = draining_                    ? 20
                : deps_.shedder->enabled()   ? 25
                : deps_.timeouts->enabled() ? static_cast<int>(deps_.timeouts->interval().count())
                                             : -1;
  if (deps_.scaler->enabled() && (wait_ms < 0 || wait_ms > kScaleTickMs)) wait_ms = kScaleTickMs;
  // The connection limits that need a clock (idle and header timeouts, the
  // accept() back-off).
  const int tick_ms = static_cast<int>(deps_.server->Tick().count());
  if (wait_ms < 0 || wait_ms > tick_ms) wait_ms = tick_ms;
  if (recycling() && (wait_ms < 0 || wait_ms > RecycleCheck::kIntervalMs)) wait_ms = RecycleCheck::kIntervalMs;
  return wait_ms;
}

bool MainThread::WatchListeners() {
  DispatcherControl& server = *deps_.server;
  return deps_.scaler->enabled() && !draining_ && server.live_threads() <= server.busy() &&
         server.live_threads() < options_.max_threads;
}

MainThread::Step MainThread::Tick(const Wakeup& wakeup) {
  if (deps_.scaler->enabled()) Scale();
  if (recycling()) CheckRecycle();
  if (deps_.shedder->enabled() && !draining_) ShedOverdue();
  WatchTimeouts();
  if (wakeup.files_changed) {
    log::Notice("watched files changed; worker scripts restart before their next request");
    if (deps_.files_changed) deps_.files_changed();
  }
  if (auto step = HandleSignals(wakeup.signals)) return *step;
  if (wakeup.supervisor_readable && supervisor_alive_) HandleSupervisor();
  return DecideExit();
}

void MainThread::BeginDrain(const char* why) {
  if (draining_) return;
  draining_ = true;
  deps_.board->accepting.store(0, std::memory_order_relaxed);
  log::Debug("draining ({})", why);
  deps_.server->BeginDrain();
  // Tell the supervisor: a reload's answer waits for this, so connections
  // made after it reach the new generation.
  deps_.supervisor->SendDraining();
  if (options_.process_control_timeout.count() > 0) {
    drain_deadline_ = deps_.clock->Now() + options_.process_control_timeout;
  }
}

// pm dynamic/ondemand: start and retire PHP threads as the scaler decides.
void MainThread::Scale() {
  DispatcherControl& server = *deps_.server;
  ThreadScaler& scaler = *deps_.scaler;
  server.JoinExited();
  const int live = server.live_threads();
  const int idle = live - server.busy();
  const bool pending = idle <= 0 && live < options_.max_threads && server.Pending();
  int n = scaler.Decide(NowMs(), live, server.busy(), pending);
  if (uint64_t more = 0; scaler.last_was_rate_limited() && busy_warning_.AllowAt(NowMs(), &more)) {
    // php-fpm's "seems busy" warning.
    log::Warning("[pool {}] seems busy (you may need to increase start_threads or min/max_spare_threads): "
                 "max_spawn_rate ({}) threads started in this second; {} idle, {} running; {} time(s) "
                 "limited so far",
                 options_.pool, scaler.options().max_spawn_rate, idle, live, scaler.spawn_rate_limited());
  }
  if (n > 0) {
    // Threads asked to retire that have not gone yet serve instead.
    n -= server.CancelRetires();
    int started = 0;
    while (started < n && server.StartThread()) ++started;
    if (started > 0) log::Debug("started {} thread(s); {} running", started, server.live_threads());
  } else if (n < 0) {
    server.RetireThreads(-n);
    log::Debug("retiring {} idle thread(s)", -n);
  }
}

void MainThread::CheckRecycle() {
  const RecycleCause cause = deps_.recycle->Check(NowMs(), deps_.server->requests_served());
  if (cause != RecycleCause::kNone) deps_.supervisor->SendRecycle(cause);
}

void MainThread::ShedOverdue() {
  const int n = deps_.server->ShedOverdue(deps_.shedder->max_wait());
  deps_.shedder->Record(n, deps_.clock->Now());
}

void MainThread::WatchTimeouts() {
  RequestTimeouts& timeouts = *deps_.timeouts;
  if (!timeouts.enabled()) return;
  timeouts.Tick();
  if (timeouts.stuck() > 0 && !replacing_) {
    replacing_ = true;
    BeginDrain("a thread is stuck after request_terminate_timeout");
  }
}

std::optional<MainThread::Step> MainThread::HandleSignals(const std::vector<os::SignalInfo>& signals) {
  for (const auto& sig : signals) {
    switch (sig.signo) {
      case SIGTERM:
      case SIGINT:
        // Immediate stop, as php-fpm's SIGTERM: requests in flight are cut.
        return Step{Step::Kind::kExitNow, 0};
      case SIGQUIT: BeginDrain("SIGQUIT"); break;
      case SIGUSR1: deps_.logs->ReopenOwn(); break;
      default: break;
    }
  }
  return std::nullopt;
}

// Kept connections handed over from a draining older generation, reopened
// logs, or EOF: the supervisor is gone. The socket stays open (the Dispatcher
// holds its number); sends on it just fail from now on.
void MainThread::HandleSupervisor() {
  SupervisorLink::Received received = deps_.supervisor->Receive();
  DeliverHanded(received.tag, received.fds, *deps_.server, *deps_.logs);
  if (received.closed) {
    deps_.server->DisableHandOver();
    BeginDrain("supervisor gone");
    supervisor_alive_ = false;
  }
}

MainThread::Step MainThread::DecideExit() {
  DispatcherControl& server = *deps_.server;
  if (replacing_ && server.busy() <= deps_.timeouts->stuck()) {
    // Only stuck threads are left: they cannot be joined. The supervisor
    // starts a replacement when this process exits.
    log::Alert("exiting with {} stuck thread(s) for a replacement process", deps_.timeouts->stuck());
    return {Step::Kind::kExitNow, kExitStuckThread};
  }
  if (!draining_) return {};
  const bool expired = drain_deadline_ && deps_.clock->Now() >= *drain_deadline_;
  if (expired) {
    log::Warning("requests still running after process_control_timeout; stopping");
    return {Step::Kind::kExitNow, 0};
  }
  // Without the supervisor to hand kept connections to, wait until they
  // are quiet before closing them.
  if (server.Idle() && (supervisor_alive_ || server.QuietFor(kDrainQuiet))) return {Step::Kind::kStop, 0};
  return {};
}

void RunMainThread(MainThread& main, os::SignalFd& signals, int watcher_fd,
                   const std::function<bool()>& drain_watcher, const std::vector<int>& listener_fds) {
  for (;;) {
    const int wait_ms = main.PrepareWait();
    std::vector<pollfd> fds = {{signals.fd(), POLLIN, 0},
                               {watcher_fd, POLLIN, 0},
                               {main.supervisor_fd(), POLLIN | POLLRDHUP, 0}};
    // With no idle thread and room for one, a new connection wakes us at
    // once (ondemand's first request): poll() only looks at the listener.
    if (main.WatchListeners()) {
      for (int fd : listener_fds) fds.push_back({fd, POLLIN, 0});
    }
    if (auto polled = os::Poll(fds, wait_ms); !polled.ok()) {
      // Cannot happen with valid descriptors; go on as after a timeout.
      static base::RateLimit limit(10000);
      if (uint64_t more = 0; limit.Allow(&more)) log::Error("main thread: {}", polled.status().message());
    }
    MainThread::Wakeup wakeup;
    wakeup.files_changed = watcher_fd >= 0 && (fds[1].revents & POLLIN) && drain_watcher();
    wakeup.supervisor_readable = fds[2].fd >= 0 && (fds[2].revents & (POLLIN | POLLHUP | POLLRDHUP | POLLERR));
    wakeup.signals = signals.Read();
    const MainThread::Step step = main.Tick(wakeup);
    if (step.kind == MainThread::Step::Kind::kExitNow) os::ExitNow(step.exit_code);
    if (step.kind == MainThread::Step::Kind::kStop) return;
  }
}

}  // namespace tfpm::worker

