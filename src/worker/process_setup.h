// Setting up a worker process before its PHP threads start, one step per
// function, in the order WorkerMain calls them (docs/architecture.md
// "Processes"): load the pool's config from the descriptor the supervisor
// sent; start logging; block the async signals (every later thread
// inherits the mask); confine the process (user, environment, limits,
// chroot, privilege drop); map the scoreboard; decide what PHP reads and
// open the access log; run MINIT while the process has one thread; then the
// filesystem confinement every PHP thread runs under.
//
// Each step after InitLogging returns the Status to log as an alert before
// exiting 1. Single-threaded: the process's main thread, before any other.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/status.h"
#include "config/config.h"
#include "os/credentials.h"
#include "os/process_memory.h"
#include "os/shared_memory.h"
#include "os/signals.h"
#include "sapi/php_embed.h"
#include "scoreboard/scoreboard.h"
#include "worker/access_log_file.h"
#include "worker/dispatcher.h"
#include "worker/worker_args.h"

namespace tfpm::worker {

// What the steps build, owned for the life of the process.
struct WorkerProcess {
  WorkerArgs args;
  // PHP_INI_SCAN_DIR as the daemon was started with it: clear_env must not
  // take it away before MINIT reads the scan directory.
  std::string inherited_scan_dir;
  config::Config config;
  const config::PoolConfig* pool = nullptr;  // in config
  pid_t pid = 0;
  pid_t parent = 0;  // the supervisor that spawned us
  std::optional<os::SignalFd> signals;
  std::optional<os::Identity> user;             // the pool's, when running as root
  std::optional<os::ResidentMemory> resident;   // process_memory_limit only
  std::optional<os::SharedMemory> board_memory;
  std::optional<scoreboard::Segment> board;
  AccessLogFile access_file;
  sapi::RuntimeOptions runtime_options;
};

// Reads and loads the config bytes (closing their descriptor), marks the
// inherited descriptors close-on-exec and finds the pool. Nothing logs yet:
// errors go to stderr. Returns the exit status on failure, 0 on success.
int LoadPool(WorkerProcess& p);
// The error log as the daemon's config and the supervisor's descriptor say.
Status InitLogging(WorkerProcess& p);
// Every async signal to the main thread's signalfd; SIGPIPE ignored.
Status BlockSignals(WorkerProcess& p);
// Before PHP reads a single file (docs/security.md "Isolation").
Status ConfineProcess(WorkerProcess& p);
// Ours from the supervisor, or a private one when run alone.
Status MapScoreboard(WorkerProcess& p);
// What PHP reads at MINIT, checked readable after the user switch; the
// access log.
Status PrepareRuntime(WorkerProcess& p);
// MINIT, once, while the process still has a single thread; then the
// pool's filesystem confinement.
Status StartPhp(WorkerProcess& p);
// The Dispatcher's options from the pool.
Result<DispatcherOptions> ServerOptionsFor(const WorkerProcess& p);

}  // namespace tfpm::worker
