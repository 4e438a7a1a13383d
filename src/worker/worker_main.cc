#include "worker/worker_main.h"

#include <poll.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/log.h"
#include "os/clock.h"
#include "os/fd_io.h"
#include "sapi/php_embed.h"
#include "scoreboard/scoreboard.h"
#include "worker/file_watcher.h"
#include "worker/load_shedder.h"
#include "worker/log_files.h"
#include "worker/main_thread.h"
#include "worker/php_cli.h"
#include "worker/php_threads.h"
#include "worker/process_setup.h"
#include "worker/recycle_check.h"
#include "worker/dispatcher.h"
#include "worker/supervisor_link.h"
#include "worker/thread_scaler.h"
#include "worker/watchdog.h"
#include "worker/worker_args.h"

namespace tfpm::worker {
namespace {

// "ready" means the process can serve: each of its first `count` PHP
// threads has created its interpreter (left Starting). PHP runs code on a
// new thread there (TSRM re-runs every INI handler, which may report a
// startup message), so a worker that would crash doing it must crash before
// it says ready: the supervisor then sees a worker that failed to start, not
// a ready one that crashed. Returns early when a signal is pending (the main
// loop handles it).
void WaitForThreadsStarted(const scoreboard::Segment& board, int count, int signal_fd) {
  for (;;) {
    bool starting = false;
    for (int i = 0; i < count; ++i) {
      const auto state = static_cast<scoreboard::ThreadState>(
          board.slot(static_cast<uint32_t>(i))->state.load(std::memory_order_acquire));
      starting = starting || state == scoreboard::ThreadState::kStarting;
    }
    if (!starting) return;
    pollfd p{signal_fd, POLLIN, 0};
    auto n = os::Poll({&p, 1}, 2);
    if (!n.ok() || *n > 0) return;
  }
}

Watchdog MakeWatchdog(const config::PoolConfig& pool, int slowlog_fd, scoreboard::Segment* board) {
  WatchdogOptions wd;
  wd.pool = pool.name;
  wd.terminate = pool.request_terminate_timeout;
  wd.track_finished = pool.request_terminate_timeout_track_finished;
  wd.slowlog = pool.request_slowlog_timeout;
  wd.slowlog_path = pool.slowlog;
  wd.slowlog_fd = slowlog_fd;
  wd.trace_depth = pool.request_slowlog_trace_depth;
  return Watchdog(wd, board);
}

// Process recycling (worker/recycle_check.h), each process with its own
// staggered threshold.
RecycleCheck MakeRecycleCheck(WorkerProcess& p) {
  const uint64_t seed =
      static_cast<uint64_t>(p.pid) ^ (static_cast<uint64_t>(scoreboard::RealtimeMicros()) << 20);
  RecycleCheck::ResidentReader resident;
  if (p.resident) {
    resident = [&p]() -> std::optional<uint64_t> {
      auto r = p.resident->Read();
      return r.ok() ? std::optional<uint64_t>(*r) : std::nullopt;
    };
  }
  return RecycleCheck({.max_requests = p.pool->process_max_requests, .memory_limit = p.pool->process_memory_limit},
                      seed, std::move(resident));
}

// Starts the PHP threads of the pool's mode; Dispatcher::ThreadMain.
Status StartThreads(Dispatcher& server, const config::PoolConfig& pool, scoreboard::Segment& board,
                    WorkerModeContext& worker_mode, int initial) {
  if (pool.mode == config::PoolMode::kWorker) {
    return server.Start([&board, &worker_mode](int index, Dispatcher& srv) {
      WorkerModeThread(index, srv, board, worker_mode);
    }, initial);
  }
  return server.Start([&board, &pool](int index, Dispatcher& srv) {
    ClassicThread(index, srv, board, pool.max_requests, pool.memory_recycle, pool.busy_trim);
  }, initial);
}

// The main thread from the first PHP thread to the end of the drain.
void RunUntilDrained(WorkerProcess& p, Dispatcher& server, WorkerModeContext& worker_mode, ThreadScaler& scaler,
                     int slowlog_fd) {
  const config::PoolConfig& pool = *p.pool;
  Watchdog watchdog = MakeWatchdog(pool, slowlog_fd, &*p.board);
  FileWatcher watcher;
  if (pool.mode == config::PoolMode::kWorker && !pool.worker.watch.empty()) watcher.Start(pool.worker.watch);
  NotifySocket supervisor(p.args.notify_fd);
  WorkerLogFiles logs(p.args.log_fd, &p.access_file, slowlog_fd);
  LoadShedder shedder(pool.max_wait_time, pool.threads, &p.board->header()->rejected_requests);
  RecycleCheck recycle = MakeRecycleCheck(p);
  os::SystemClock clock;
  MainThread main({.pool = pool.name,
                   .max_threads = pool.threads,
                   .process_control_timeout = p.config.daemon.process_control_timeout},
                  {.clock = &clock,
                   .server = &server,
                   .supervisor = &supervisor,
                   .timeouts = &watchdog,
                   .scaler = &scaler,
                   .shedder = &shedder,
                   .recycle = &recycle,
                   .logs = &logs,
                   .board = p.board->header(),
                   .files_changed = [&worker_mode] { worker_mode.epoch.fetch_add(1, std::memory_order_acq_rel); }});
  RunMainThread(main, *p.signals, watcher.fd(), [&watcher] { return watcher.Drain(); }, server.listener_fds());
}

// From the PHP threads' start to the end: serve, drain, shut PHP down.
int Serve(WorkerProcess& p) {
  const config::PoolConfig& pool = *p.pool;
  auto options = ServerOptionsFor(p);
  if (!options.ok()) {
    log::Alert("{}", options.status().message());
    return 1;
  }
  std::vector<os::UniqueFd> listeners;
  for (int fd : p.args.listen_fds) listeners.emplace_back(fd);
  Dispatcher server(std::move(options.value()), std::move(listeners), &*p.board);
  WorkerModeContext worker_mode;
  worker_mode.pool = &pool;
  ThreadScaler scaler(ScalerOptions::For(pool));
  const int initial = scaler.options().initial_threads();
  if (Status st = StartThreads(server, pool, *p.board, worker_mode, initial); !st.ok()) {
    log::Alert("starting threads: {}", st.message());
    return 1;
  }
  WaitForThreadsStarted(*p.board, initial, p.signals->fd());
  NotifySocket(p.args.notify_fd).SendReady();
  log::Debug("serving with {} of at most {} threads", initial, pool.threads);
  // The slowlog the supervisor opened, replaced under its number on reopen.
  os::UniqueFd slowlog_fd(p.args.slowlog_fd);
  RunUntilDrained(p, server, worker_mode, scaler, slowlog_fd.get());
  server.Stop();
  server.Join();
  sapi::PhpRuntime::Shutdown();
  log::Debug("exited after {} requests; {} kept connection(s) handed over", server.requests_served(),
             server.connections_handed_over());
  return 0;
}

}  // namespace

int WorkerMain(int argc, char** argv) {
  WorkerProcess p;
  std::string err;
  if (!ParseWorkerArgs(argc, argv, &p.args, &err)) {
    std::fprintf(stderr, "tfpm-worker: %s\n", err.c_str());
    return 2;
  }
  if (p.args.cli != PhpCliMode::kNone) return RunPhpCli(p.args.cli, p.args.config_path);
  const char* scan_env = std::getenv("PHP_INI_SCAN_DIR");
  p.inherited_scan_dir = scan_env ? scan_env : "";
  if (p.args.config_fd < 0 || p.args.pool.empty()) {
    std::fprintf(stderr, "tfpm-worker is started by tfpm; see tfpm --help\n");
    return 2;
  }
  if (int rc = LoadPool(p); rc != 0) return rc;
  if (Status st = InitLogging(p); !st.ok()) {
    std::fprintf(stderr, "tfpm-worker: %s\n", st.message().c_str());
    return 1;
  }
  using Step = Status (*)(WorkerProcess&);
  for (Step step : {Step{BlockSignals}, Step{ConfineProcess}, Step{MapScoreboard}, Step{PrepareRuntime}}) {
    if (Status st = step(p); !st.ok()) {
      log::Alert("{}", st.message());
      return 1;
    }
  }
  SetMeasureCpu(!p.pool->status_path.empty());
  if (Status st = StartPhp(p); !st.ok()) {
    log::Alert("{}", st.message());
    return 1;
  }
  return Serve(p);
}

}  // namespace tfpm::worker
