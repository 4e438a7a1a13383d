// Supervisor: the master process. A single-threaded event loop (epoll +
// signalfd) that never loads PHP. It owns the listening sockets, the
// control socket and the pid file; spawns worker processes (tfpm-worker)
// through an os::Spawner, hands each exactly the sockets of its pool, reaps
// them and replaces the ones that die (RestartPolicy).
//
// Not thread-safe: everything runs on the thread that calls Run().
//
// Its members are defined by job, one .cc file each (supervisor.cc the
// event loop; spawn_worker, reaping, generations, stopping, scale_pools,
// recycles, control_server, listeners, worker_logs, handover,
// worker_output, failed_pools): docs/architecture.md "Supervisor".
//
// Signals (php-fpm's meanings): SIGINT/SIGTERM stop now, SIGQUIT graceful
// stop (requests in flight finish within process_control_timeout), SIGUSR1
// reopen logs, SIGUSR2 reload, SIGCHLD reap.
//
// Reload (docs/architecture.md "Reload and generations"): the new config is
// loaded and checked first; a bad one is refused and nothing changes.
// Otherwise listening sockets whose address is unchanged are kept (the same
// fd, so no connection is ever refused), new ones opened, and a new
// generation of workers started; only when all of them are ready is the old
// generation told to drain (SIGQUIT). If a new worker fails before it is
// ready, the reload is rolled back and the old generation keeps serving.
//
// Pools whose workers cannot stay up (pool_health.h): a new generation is
// accepted only after its workers have been ready for startup_probation (a
// worker dying before fails the start or rolls the reload back); later, a
// run of failure_threshold quick failures marks a pool failed, and while no
// worker of it is ready the supervisor answers its connections with 503
// itself (UnavailableAnswerer) instead of leaving them queued.
#pragma once

#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <string>
#include <vector>

#include "base/rate_limit.h"
#include "base/status.h"
#include "config/config.h"
#include "control/protocol.h"
#include "ipc/notify.h"
#include "os/clock.h"
#include "os/pidfile.h"
#include "os/poller.h"
#include "os/process.h"
#include "os/shared_memory.h"
#include "os/signals.h"
#include "os/socket.h"
#include "supervisor/pool_health.h"
#include "supervisor/caller_file.h"
#include "supervisor/control_client.h"
#include "supervisor/listener.h"
#include "supervisor/output_lines.h"
#include "supervisor/pool_status.h"
#include "supervisor/recycling.h"
#include "supervisor/restart_policy.h"
#include "supervisor/scaling.h"
#include "supervisor/spawn_plan.h"
#include "supervisor/transition.h"
#include "supervisor/unavailable_answerer.h"
#include "supervisor/status_listen.h"
#include "supervisor/status_server.h"
#include "supervisor/worker_table.h"

namespace tfpm::supervisor {

struct SupervisorOptions {
  std::string worker_executable;  // absolute path of tfpm-worker
  std::string config_text;        // the exact bytes `config` was loaded from
  std::string config_path;        // "" = built-in config; reload re-reads this file
  // If set, reload calls this instead of reading config_path: it returns
  // the YAML text to load (tfpm --fpm-config: php-fpm.conf imported anew)
  // or the reason to refuse the reload.
  std::function<Result<std::string>()> reread_config;
  // If set, `pm-ctl config-test FILE` calls this to turn FILE into the
  // YAML text to check (tfpm --fpm-config: FILE is a php-fpm.conf). It
  // reads FILE and every file FILE includes only if `accept` allows it
  // (the caller's rule, supervisor/caller_file.h).
  using FileRule = std::function<Status(const std::string& path, const struct stat& st)>;  // = fpm::FileRule
  std::function<Result<std::string>(const std::string& path, const FileRule& accept)> import_config;
  // Called once when every worker of the first generation is ready (or with
  // an error if they could not start). Used to release a daemonizing parent
  // and to send READY=1 to systemd.
  std::function<void(const Status&)> on_ready;
  // Checks a loaded config beyond validation (files it names); an error
  // refuses it. `warnings` are logged. `dry_run` (pm-ctl config-test): the
  // check must change nothing (create no file). May be empty.
  std::function<Status(const config::Config&, bool dry_run, std::vector<std::string>* warnings)> check;
  // sd_notify: RELOADING=1, READY=1 after a reload, STOPPING=1, STATUS=,
  // WATCHDOG=1. Empty = no systemd.
  std::function<void(std::string_view)> notify;
  // systemd's WATCHDOG_USEC; 0 = no watchdog. WATCHDOG=1 every half of it.
  std::chrono::microseconds watchdog{0};
  // Listening sockets passed by systemd (LISTEN_FDS), already validated
  // for this pid; a pool whose `listen` equals one's address uses it.
  std::vector<int> activated_fds;
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
  // One turn of Run's loop: waits for events until the next deadline (at
  // most `max_wait`), handles them and runs the timers. False once stopped
  // with no worker left (Run returns). Tests drive the loop with it, with a
  // fake clock and spawner (tests/unit/supervisor/supervisor_reload_test.cc).
  bool RunOnce(std::optional<std::chrono::milliseconds> max_wait = std::nullopt);

 private:
  using Listener = supervisor::Listener;  // listener.h
  using Worker = supervisor::Worker;      // worker_table.h
  struct Slot {
    pid_t pid = 0;                           // 0 = no process
    RestartPolicy restart;
    std::optional<os::TimePoint> restart_at;
  };
  struct Pool {
    config::PoolConfig config;
    std::shared_ptr<Listener> listener;
    uint64_t generation = 0;
    std::vector<Slot> slots;
    // A worker of this pool object (this generation) was started: it reports
    // PHP's startup deprecations; the pool's later workers do not repeat them.
    bool startup_reported = false;
    // The status page's counters; shared with the pool of the same name in
    // the next generation, so they survive reloads and rolling restarts.
    std::shared_ptr<PoolCounters> counters;
    // pm dynamic/ondemand: since when the pool could do without its newest
    // process (ScalePools).
    std::optional<os::TimePoint> surplus_since;
    // Can its workers stay up (failure_threshold / failure_window)?
    PoolHealth health;
    // Connections the supervisor answered with 503 while it was failed:
    // in all, and since the last log line about them.
    uint64_t unavailable_answers = 0;
    uint64_t answers_unlogged = 0;
    os::TimePoint answers_logged_at{};
  };
  // A reload or rolling restart in progress: the new generation's workers
  // are starting; the old ones serve until every new one is ready.
  struct Transition {
    uint64_t generation = 0;
    std::string what;                     // "reload", "restart of pool www"
    std::vector<std::string> replaced;    // pools whose workers are replaced
    std::vector<Pool> old_pools;          // pools_ before, to roll back
    config::Config old_config;
    std::string old_text;
    std::map<std::string, std::string> old_pool_texts;
    std::vector<pid_t> old_pids;          // drained once the new ones are ready
    os::TimePoint started_at;
    os::TimePoint deadline;
    std::vector<os::UniqueFd> waiting;    // control clients waiting for the result
  };
  // pm-ctl clients of a committed reload, answered once every old worker
  // has confirmed that it stopped accepting (or exited), so that every
  // connection made after the answer reaches the new generation.
  struct DrainWait {
    std::vector<pid_t> pids;
    std::vector<os::UniqueFd> clients;
    control::Json reply;
    os::TimePoint deadline;
  };
  enum class StopMode { kNone, kGraceful, kFast };

  // epoll token of a failed pool's listening socket (| fd); supervisor.cc
  // holds the other kinds.
  static constexpr uint64_t kFailedListenToken = 6ull << 56;
  // At most one log line per failed pool about the connections answered
  // 503 in this interval.
  static constexpr std::chrono::milliseconds kAnswerLogInterval{10000};

  // listeners.cc: the systemd sockets (options_.activated_fds) taken into
  // activated_, then each pool's socket.
  Status TakeActivatedSockets();
  Status OpenListeners();
  Result<std::shared_ptr<Listener>> ListenerFor(const config::PoolConfig& pc, const std::string& source);
  Status OpenControlSocket();
  Status SpawnWorker(Pool& pool, int slot);
  // Descriptors the supervisor holds for one spawn; closed here once the
  // child has its copies.
  struct HeldFds {
    os::UniqueFd access_log, slowlog, output_write;
  };
  // Opens the pool's access_log and slowlog for `w` and its output pipe
  // (catch_workers_output), as `pc` asks; fills the matching `fds`.
  Status OpenWorkerFiles(const config::PoolConfig& pc, Worker& w, HeldFds* held, WorkerFds* fds);
  // daemon.process_max worker processes run (any pool, any generation).
  bool ProcessMaxReached() const;
  void HandleSignals();
  void ReapChildren();
  // `w` exited (already out of workers_): logs it, then carries out
  // OnWorkerExit's decision (roll back, restart its slot, fail the start).
  void OnWorkerExited(Worker& w, const os::ExitInfo& info);
  // The log line of an exit, its last output, and the emergency restart.
  void LogWorkerExit(Worker& w, const os::ExitInfo& info, os::TimePoint now);
  void HandleNotify(pid_t pid);
  void HandOver(const Worker& from, os::UniqueFd conn);
  // Process recycling: `w` asked to be replaced for `cause`. Starts the
  // replacement in its slot unless the request must wait (see
  // ipc/worker_process.h); a deferred request is kept in
  // recycle_deferred and retried by CheckRecycles.
  void RequestRecycle(Worker& w, std::string_view cause);
  // Completes recycles (CompleteRecycles), then starts the deferred ones
  // whose turn it is, oldest process first.
  void CheckRecycles();
  // Drains each process whose replacement is ready (or whose pool moved on
  // to a new generation), counts and logs the recycle.
  void CompleteRecycles();
  // reopen-logs (SIGUSR1, pm-ctl): our own log, then the files the workers
  // were handed, opened again and sent to them.
  Status ReopenLogs();
  // The workers' error log (log_fd_): a copy of our stderr, or the
  // error_log file.
  Status OpenWorkersErrorLog();
  void HandleOutput(pid_t pid);
  // Reads what `w` wrote and logs its lines; `exited`: the last of it.
  void ReadOutput(Worker& w, bool exited);
  void AcceptControl();
  void HandleControl(int fd);
  void ExpireControlClients();
  // The periodic work of the loop (restarts, transitions, kills, samples).
  void RunTimers();
  // An exception escaped the handling of `where`: counted, logged
  // (rate-limited), and the loop carries on.
  void Survived(std::string_view where, const std::exception& e);
  // Returns the reply, or nullopt when `client` was kept to be answered later.
  std::optional<control::Json> Dispatch(const control::Json& request, os::UniqueFd& client, const Caller& caller);
  // `pm-ctl status`; `detail` (the request's "detail": true, what `pm-ctl
  // top` asks for) adds each pool's listen queue, each process's resident
  // memory and each idle thread's last request (docs/control-protocol.md).
  control::Json StatusJson(bool detail = false) const;
  // php-fpm's status page data of `pool` (a worker asked through its
  // socketpair; the answer goes back as a memfd over `reply`).
  void AnswerPoolStatus(const std::string& pool, os::UniqueFd reply, bool full);
  std::vector<scoreboard::Segment> PoolSegments(const std::string& pool) const;
  // The pool's live worker processes and their resident memory into `st`
  // (a process /proc cannot tell about, having just exited, is left out).
  void AddProcessMemory(const Pool& pool, ipc::PoolStatus* st) const;
  void SamplePools();
  std::shared_ptr<PoolCounters> CountersFor(const std::string& pool);
  control::Json ProcessJson(const Worker& w, uint64_t* busy, uint64_t* idle, uint64_t* served,
                            bool detail = false) const;
  void BeginStop(StopMode mode, const char* why);
  // SIGQUIT / pm-ctl stop: BeginStop(kGraceful) after daemon.drain_delay
  // (drain_at_), at once when it is 0 or on a second request.
  void RequestGracefulStop(const char* why);
  // Stopping, or a graceful stop announced (drain_delay): no reload.
  bool Stopping() const { return stop_mode_ != StopMode::kNone || drain_at_.has_value(); }
  // SIGKILL to the workers whose time is up at `now` (stopping.cc): every
  // one after a stop's kill_deadline_, a draining one at its kill_at.
  void KillOverdue(os::TimePoint now);
  void StartDueRestarts();
  // pm dynamic/ondemand: observes each pool, asks DecideScaling
  // (scaling.h) and executes its decision: adds a process to a pool whose
  // processes are all full, drains the newest one when the others have been
  // able to carry the load for idle_timeout. Runs every kScaleInterval.
  void ScalePools();
  // Carries out `d` for `pool` (`serving`: its serving processes, for the log).
  void ExecuteScaling(Pool& pool, const ScaleDecision& d, size_t serving);
  std::optional<os::TimePoint> NextDeadline() const;
  void CheckReady();
  Pool* FindPool(const std::string& name);
  // The pool's slots and health for its config (failure_window is also
  // how long a worker must run for its restart not to back off).
  static void InitPool(Pool& pool);
  // A pool of `generation` for `pc` on `listener`, its counters kept from
  // an earlier generation of the same name (CountersFor).
  Pool NewPool(const config::PoolConfig& pc, std::shared_ptr<Listener> listener, uint64_t generation);
  // Pool health (pool_health.h): a worker of `pool` exited although nobody
  // asked it to.
  void OnWorkerFailure(Pool& pool, const Worker& w, const std::string& how, os::TimePoint now);
  // Every loop turn: recovery of failed pools, and which listening sockets
  // the supervisor answers itself (failed pool, no ready worker on it).
  void UpdatePoolHealth();
  void AnswerUnavailable(int listen_fd);
  // The earliest ready time of the pool's live ready workers.
  std::optional<os::TimePoint> OldestReady(const Pool& pool) const;
  bool HasReadyWorker(const std::shared_ptr<Listener>& listener) const;
  // pm-ctl status: {"state": "ok"|"failed", ...} (docs/control-protocol.md).
  control::Json PoolHealthJson(const Pool& pool, os::TimePoint now) const;

  // status_listeners.cc: each pool's status listener (status_listen.h)
  // opened or kept for pools_, the others closed. The first error (the
  // others are tried anyway).
  Status SyncStatusListeners();
  // The CGI answer to a request on `pool`'s status listener.
  std::string AnswerStatusListen(const std::string& pool, std::span<const FcgiParam> params);
  static PoolInfo PoolInfoOf(const Pool& pool);
  uint64_t ShedTotal(const Pool& pool) const;
  // Notes when max_wait_time last shed a request of `pool` (readiness).
  void NoteShed(const Pool& pool, os::TimePoint now);
  ReadinessInput ReadinessOf(const Pool& pool, os::TimePoint now);
  LivenessInput LivenessOf(const Pool& pool) const;
  // pm-ctl status: the pool's status listener and its counters (null: none).
  control::Json StatusListenJson(const Pool& pool) const;

  // Reload: reads and checks the config file; on success starts a new
  // generation of every pool. Errors are "file:line: key: message".
  Status Reload(const char* why, os::UniqueFd* waiting_client);
  Result<config::Config> LoadAndCheck(const std::string& text, const std::string& source, bool dry_run);
  // Starts the new generation of `only_pool` (or of every pool when empty)
  // under `config`.
  Status BeginTransition(config::Config config, std::string text, const std::string& only_pool,
                         std::string what, os::UniqueFd* waiting_client);
  // Spawns the processes of the transition's new generation (scaling.h
  // ProcessesForNewGeneration); the first spawn error stops it.
  Status StartNewGeneration();
  void CheckTransition();
  void CommitTransition();
  void CheckDrainWaits();
  // Graceful stop: each listening socket whose workers have all stopped
  // accepting stops listening, so new connections are refused at once
  // instead of waiting in the queue for the whole drain.
  void StopListeningWhenDrained();
  void RollBackTransition(const std::string& why);
  void DrainWorker(Worker& w);
  void SendStatusLine();
  void Notify(std::string_view message);
  // Answers and closes `fd` (taking it), without blocking the loop.
  void Reply(os::UniqueFd& fd, const control::Json& reply);

  config::Config config_;
  SupervisorOptions options_;
  os::Spawner* spawner_;
  const os::Clock* clock_;
  const os::TimePoint started_at_;

  std::optional<os::Poller> poller_;
  std::optional<os::SignalFd> signals_;
  std::optional<os::PidFile> pid_file_;
  os::UniqueFd control_fd_;
  // Per pool, the config text its workers are handed (sealed memfd at
  // kConfigFd): config_text with the other pools left out
  // (config::PoolConfigText), so no worker holds another pool's `env`.
  std::map<std::string, std::string> pool_texts_;
  // The workers' error log (ipc/worker_process.h kLogFd): a dup of our
  // stderr when error_log is stderr, else the error_log file opened for
  // appending (replaced in place by reopen-logs).
  os::UniqueFd log_fd_;
  std::vector<std::shared_ptr<Listener>> activated_;  // from systemd, unused ones too
  std::vector<Pool> pools_;
  WorkerTable workers_;
  std::map<int, ControlClient> control_clients_;
  uid_t control_uid_ = 0;          // control_socket_owner's uid, or ours
  gid_t control_gid_ = static_cast<gid_t>(-1);  // control_socket_group's gid, if set

  uint64_t generation_ = 1;
  bool process_max_warned_ = false;  // one warning per episode of process_max
  uint64_t connections_handed_over_ = 0;
  uint64_t internal_errors_ = 0;          // exceptions survived (Survived)
  uint64_t control_clients_dropped_ = 0;  // over control_max_clients or slower than control_timeout
  uint64_t control_requests_too_long_ = 0;  // over control::kMaxLine
  base::RateLimit internal_error_log_;
  base::RateLimit control_limit_log_;
  uint64_t worker_output_lines_wrapped_ = 0;  // catch_workers_output lines over log_limit
  base::RateLimit output_wrap_log_;
  base::RateLimit notify_log_{10000};   // garbage on a worker's notify socket (ipc/notify.h)
  base::RateLimit recycle_log_{10000};  // recycles deferred or refused (process_max, spawn errors, bad causes)
  size_t next_handover_ = 0;  // round robin of handed-over connections
  std::optional<Transition> transition_;
  std::vector<DrainWait> drain_waits_;
  bool reload_queued_ = false;     // SIGUSR2 during a transition
  EmergencyRestart emergency_{0, std::chrono::milliseconds(0)};
  std::optional<UnavailableAnswerer> answerer_;
  // Listening sockets of failed pools that the supervisor accepts on, by
  // fd; holding the Listener keeps the fd open while it is in the poller.
  struct Answering {
    std::shared_ptr<Listener> listener;
    std::string pool;
    std::shared_ptr<const std::string> why;  // FCGI_STDERR of the answer
    std::shared_ptr<const base::ClientFilter> clients;  // listen_allowed_clients
  };
  std::map<int, Answering> answering_;
  // The status listeners (status_listen), and per pool the shed count
  // of max_wait_time last seen and when it last grew (readiness).
  std::optional<StatusServer> status_server_;
  struct ShedSeen {
    uint64_t total = 0;
    os::TimePoint at{};
  };
  std::map<std::string, ShedSeen> shed_seen_;

  bool ready_reported_ = false;
  StopMode stop_mode_ = StopMode::kNone;
  std::optional<os::TimePoint> kill_deadline_;
  // A graceful stop announced by RequestGracefulStop begins then (and why).
  std::optional<os::TimePoint> drain_at_;
  const char* drain_why_ = "";
  std::optional<os::TimePoint> next_watchdog_;
  std::optional<os::TimePoint> next_status_line_;
  os::TimePoint next_sample_{};
  std::optional<os::TimePoint> next_scale_;
  uint64_t last_served_total_ = 0;
  os::TimePoint last_status_at_{};
  int exit_code_ = 0;
};

}  // namespace tfpm::supervisor
