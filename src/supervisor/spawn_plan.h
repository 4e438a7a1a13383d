// The spawn plan of a worker process as data: which of the supervisor's
// descriptors the worker gets under which number, and its argv
// (ipc/worker_process.h; worker/worker_main.cc reads them). Pure: the
// supervisor opens the descriptors (SpawnWorker), this decides how they are
// handed over; unit-tested in tests/unit/supervisor/spawn_plan_test.cc.
#pragma once

#include <string>

#include "config/config.h"
#include "os/process.h"

namespace tfpm::supervisor {

// Descriptors in the supervisor for one worker start; -1 = not handed over.
struct WorkerFds {
  int config = -1;      // sealed memfd with the pool's config text
  int notify = -1;      // the worker's end of the socketpair
  int scoreboard = -1;  // its scoreboard segment
  int listen = -1;      // the pool's listening socket
  int log = -1;         // the error log (the supervisor's stderr or the error_log file)
  bool log_is_file = false;
  int access_log = -1;  // opened when HandsAccessLog
  int slowlog = -1;     // opened when HandsSlowlog
  int output = -1;      // catch_workers_output: the pipe's write end, for stdout and stderr
};

// Whether the pool's workers are handed its access_log / slowlog (the
// slowlog only with request_slowlog_timeout set).
bool HandsAccessLog(const config::PoolConfig& pc);
bool HandsSlowlog(const config::PoolConfig& pc);

// The spec to start a worker of `pc` (from the config file named `source`).
// `startup_reported`: an earlier worker of this pool object already reported
// PHP's startup deprecations. The child dies with SIGTERM when the
// supervisor does.
os::SpawnSpec PlanWorkerSpawn(const std::string& executable, const config::PoolConfig& pc, const std::string& source,
                              bool startup_reported, const WorkerFds& fds);

}  // namespace tfpm::supervisor
