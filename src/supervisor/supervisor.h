// Supervisor: the master process. A single-threaded event loop (epoll +
// signalfd) that never loads PHP. It owns the listening sockets, the
// control socket and the pid file; spawns worker processes (tfpm-worker)
// through an os::Spawner, hands each exactly the sockets of its pool, reaps
// them and replaces the ones that die (RestartPolicy).
//
// Not thread-safe: everything runs on the thread that calls Run().
//
// Signals (php-fpm's meanings): SIGINT/SIGTERM stop now, SIGQUIT graceful
// stop (requests in flight finish within process_control_timeout), SIGUSR1
// reopen logs, SIGCHLD reap.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "config/config.h"
#include "control/protocol.h"
#include "os/clock.h"
#include "os/pidfile.h"
#include "os/poller.h"
#include "os/process.h"
#include "os/shared_memory.h"
#include "os/signals.h"
#include "os/socket.h"
#include "supervisor/restart_policy.h"

namespace tfpm::supervisor {

struct SupervisorOptions {
  std::string worker_executable;  // absolute path of tfpm-worker
  std::string config_text;        // the exact bytes `config` was loaded from
  // Called once when every worker of the first generation is ready (or with
  // an error if they could not start). Used to release a daemonizing parent
  // and to send READY=1 to systemd.
  std::function<void(const Status&)> on_ready;
};

class Supervisor {
 public:
  Supervisor(config::Config config, SupervisorOptions options, os::Spawner* spawner,
             const os::Clock* clock);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Opens sockets and the pid file and starts every worker. Errors name the
  // resource ("bind(127.0.0.1:9000): Address already in use").
  Status Start();
  // Runs until stopped; returns the process exit code.
  int Run();

 private:
  struct Listener {
    os::ListenAddress address;
    os::UniqueFd fd;
  };
  struct Worker {
    std::string pool;
    int slot = 0;
    pid_t pid = 0;
    enum class State { kStarting, kReady, kStopping } state = State::kStarting;
    os::UniqueFd notify;   // our end of the socketpair
    os::UniqueFd output;   // captured stdout/stderr (catch_workers_output)
    std::optional<os::SharedMemory> board;
    os::TimePoint started_at;
    std::string partial_output;
  };
  struct Slot {
    pid_t pid = 0;                           // 0 = no process
    RestartPolicy restart;
    std::optional<os::TimePoint> restart_at;
  };
  struct Pool {
    config::PoolConfig config;
    Listener* listener = nullptr;
    std::vector<Slot> slots;
    // Timeout counters of the pool's processes that have exited (the live
    // ones are read from their scoreboards).
    uint64_t retired_slow = 0, retired_terminated = 0;
  };
  struct ControlClient {
    os::UniqueFd fd;
    std::string in;
  };
  enum class StopMode { kNone, kGraceful, kFast };

  Status OpenListeners();
  Status OpenControlSocket();
  Status SpawnWorker(Pool& pool, int slot);
  void HandleSignals();
  void ReapChildren();
  void HandleNotify(pid_t pid);
  void HandleOutput(pid_t pid, bool flush_all);
  void AcceptControl();
  void HandleControl(int fd);
  control::Json Dispatch(const control::Json& request);
  control::Json StatusJson() const;
  void BeginStop(StopMode mode, const char* why);
  void StartDueRestarts();
  std::optional<os::TimePoint> NextDeadline() const;
  void CheckReady();
  Pool* FindPool(const std::string& name);

  config::Config config_;
  SupervisorOptions options_;
  os::Spawner* spawner_;
  const os::Clock* clock_;
  const os::TimePoint started_at_;

  std::optional<os::Poller> poller_;
  std::optional<os::SignalFd> signals_;
  std::optional<os::PidFile> pid_file_;
  os::UniqueFd control_fd_;
  os::UniqueFd config_fd_;   // sealed memfd with config_text
  os::UniqueFd log_fd_;      // dup of stderr for workers, when error_log is stderr
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<Pool> pools_;
  std::map<pid_t, std::unique_ptr<Worker>> workers_;
  std::map<int, ControlClient> control_clients_;

  bool ready_reported_ = false;
  StopMode stop_mode_ = StopMode::kNone;
  std::optional<os::TimePoint> kill_deadline_;
  int exit_code_ = 0;
};

}  // namespace tfpm::supervisor
