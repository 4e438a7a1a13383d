// The command line the supervisor starts a worker process with
// (supervisor/supervisor.cc builds it; the descriptor numbers are in
// ipc/worker_process.h), and the php CLI modes (--modules, --info, --ini)
// tfpm runs through the worker binary.
#pragma once

#include <string>
#include <vector>

#include "worker/php_cli.h"

namespace tfpm::worker {

struct WorkerArgs {
  std::string pool;
  std::string source = "<config>";
  int config_fd = -1;
  std::vector<int> listen_fds;
  int scoreboard_fd = -1;
  int notify_fd = -1;
  int total_threads = 0;
  bool startup_reported = false;  // --startup-reported 1: another process of the pool reported
  int log_fd = -1;
  bool log_is_file = false;  // --log-file-fd: the error_log file, not a stream
  int access_log_fd = -1;
  int slowlog_fd = -1;
  PhpCliMode cli = PhpCliMode::kNone;  // --modules, --info, --ini
  std::string config_path;             // ... with this config file
};

// Parses argv[1..argc-1]. False with *err naming the bad argument.
bool ParseWorkerArgs(int argc, char** argv, WorkerArgs* a, std::string* err);

}  // namespace tfpm::worker
