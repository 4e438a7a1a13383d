#include "worker/worker_main.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/client_filter.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/worker_contract.h"
#include "base/rate_limit.h"
#include "config/extension_policy.h"
#include "config/load_yaml.h"
#include "os/credentials.h"
#include "os/process_memory.h"
#include "os/shared_memory.h"
#include "os/signals.h"
#include "os/socket.h"
#include "sapi/php_embed.h"
#include "scoreboard/scoreboard.h"
#include "worker/access_log_file.h"
#include "worker/confine.h"
#include "worker/fs_confine.h"
#include "worker/php_cli.h"
#include "worker/process_recycler.h"
#include "worker/runtime_options.h"
#include "worker/server.h"
#include "worker/thread_scaler.h"
#include "worker/watchdog.h"

namespace tfpm::worker {
namespace {

// Exit status of a worker that left because a thread did not come back
// from request_terminate_timeout (the supervisor restarts it as any exit).
constexpr int kExitStuckThread = 75;  // EX_TEMPFAIL

struct Args {
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

bool ParseInt(std::string_view s, int* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseArgs(int argc, char** argv, Args* a, std::string* err) {
  for (int i = 1; i < argc; ++i) {
    std::string_view k = argv[i];
    auto next = [&](std::string_view* v) {
      if (i + 1 >= argc) return false;
      *v = argv[++i];
      return true;
    };
    std::string_view v;
    if (k == "--modules") { a->cli = PhpCliMode::kModules; continue; }
    if (k == "--info") { a->cli = PhpCliMode::kInfo; continue; }
    if (k == "--ini") { a->cli = PhpCliMode::kIni; continue; }
    if (!next(&v)) { *err = "missing value for " + std::string(k); return false; }
    if (k == "--pool") a->pool = v;
    else if (k == "--source") a->source = v;
    else if (k == "--config") a->config_path = v;
    else if (k == "--config-fd") { if (!ParseInt(v, &a->config_fd)) { *err = "bad --config-fd"; return false; } }
    else if (k == "--scoreboard-fd") { if (!ParseInt(v, &a->scoreboard_fd)) { *err = "bad --scoreboard-fd"; return false; } }
    else if (k == "--notify-fd") { if (!ParseInt(v, &a->notify_fd)) { *err = "bad --notify-fd"; return false; } }
    else if (k == "--log-fd") { if (!ParseInt(v, &a->log_fd)) { *err = "bad --log-fd"; return false; } }
    else if (k == "--log-file-fd") {
      if (!ParseInt(v, &a->log_fd)) { *err = "bad --log-file-fd"; return false; }
      a->log_is_file = true;
    }
    else if (k == "--access-log-fd") { if (!ParseInt(v, &a->access_log_fd)) { *err = "bad --access-log-fd"; return false; } }
    else if (k == "--slowlog-fd") { if (!ParseInt(v, &a->slowlog_fd)) { *err = "bad --slowlog-fd"; return false; } }
    else if (k == "--startup-reported") a->startup_reported = v == "1";
    else if (k == "--total-threads") { if (!ParseInt(v, &a->total_threads)) { *err = "bad --total-threads"; return false; } }
    else if (k == "--listen-fds") {
      size_t start = 0;
      while (start <= v.size()) {
        size_t comma = v.find(',', start);
        std::string_view part = v.substr(start, comma == std::string_view::npos ? v.npos : comma - start);
        int fd;
        if (!ParseInt(part, &fd)) { *err = "bad --listen-fds"; return false; }
        a->listen_fds.push_back(fd);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
    } else {
      *err = "unknown argument " + std::string(k);
      return false;
    }
  }
  return true;
}

log::Level ToLogLevel(config::LogLevel l) {
  switch (l) {
    case config::LogLevel::kAlert: return log::Level::kAlert;
    case config::LogLevel::kError: return log::Level::kError;
    case config::LogLevel::kWarning: return log::Level::kWarning;
    case config::LogLevel::kNotice: return log::Level::kNotice;
    case config::LogLevel::kDebug: return log::Level::kDebug;
  }
  return log::Level::kNotice;
}

// php-fpm's clear_env: PHP sees only the pool's env entries; with a pool
// user, USER and HOME are that user's unless `env` sets them (php-fpm).
// clearenv() only forgets the variables: their bytes stay where they were,
// most of them in the initial environment the kernel placed on the stack
// (/proc/self/environ) — the daemon's whole environment, values meant for
// another pool's `env` (${VAR}) included. They are overwritten with zeros
// (docs/security.md "Trust boundaries"). Nothing holds on to them: what
// the worker needs from its environment (PHP_INI_SCAN_DIR, the config's
// ${VAR}) was read before this point, and copied.
void ApplyEnvironment(const config::PoolConfig& pool, const std::optional<os::Identity>& user) {
  if (pool.clear_env) {
    std::vector<char*> strings;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) strings.push_back(*e);
    ::clearenv();
    for (char* s : strings) std::memset(s, 0, std::strlen(s));
  }
  for (const auto& [k, v] : pool.env) ::setenv(k.c_str(), v.c_str(), 1);
  if (!user) return;
  auto set = [&pool](const char* name, const std::string& value) {
    for (const auto& [k, v] : pool.env) {
      if (k == name) return;
    }
    if (!value.empty()) ::setenv(name, value.c_str(), 1);
  };
  set("USER", user->name);
  set("HOME", user->home);
}

// The pool's isolation keys as a plan for Confine (worker/confine.h).
ConfinePlan PlanFor(const config::PoolConfig& pool, std::optional<os::Identity> user,
                    bool supervised, pid_t parent) {
  ConfinePlan plan;
  plan.rlimit_files = pool.rlimit_files;
  plan.rlimit_core = pool.rlimit_core == config::kRlimitUnlimited ? os::kUnlimited : pool.rlimit_core;
  plan.priority = pool.process_priority;
  plan.chroot = pool.chroot;
  plan.chdir = pool.chdir;
  plan.user = std::move(user);
  plan.dumpable = pool.process_dumpable;
  if (supervised) {
    plan.parent_death_signal = SIGTERM;  // as the spawner set it before exec
    plan.parent = parent;
  }
  return plan;
}

// The pool's status page data, from the supervisor, which reads the
// scoreboards of all the pool's processes (we map only our own). One end of
// a fresh socketpair goes to it over our notify socket, tagged 's' ('S' with
// a row per thread); the JSON comes back in a memfd over the pair. "" if
// there is no supervisor or it does not answer within 2 s.
std::string QueryPoolStatus(int notify_fd, bool full) {
  if (notify_fd < 0) return "";
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return "";
  os::UniqueFd mine(sv[0]), theirs(sv[1]);
  if (!os::SendFd(notify_fd, theirs.get(), full ? worker_contract::kTagStatusFull : worker_contract::kTagStatus)) return "";
  theirs.Reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "";
    pollfd p{mine.get(), POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) break;
    if (n < 0 && errno != EINTR) return "";
  }
  std::string tag;
  std::vector<os::UniqueFd> fds;
  if (os::ReceiveWithFds(mine.get(), &tag, &fds) <= 0 || fds.size() != 1) return "";
  std::string out;
  char buf[16384];
  for (off_t off = 0;;) {
    const ssize_t n = ::pread(fds[0].get(), buf, sizeof(buf), off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

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
    if (::poll(&p, 1, 2) > 0) return;
  }
}

// A log file the supervisor reopened, put under the number in use.
void ReplaceFd(int from, int to, const char* what) {
  int rc;
  do rc = ::dup3(from, to, O_CLOEXEC); while (rc < 0 && errno == EINTR);
  if (rc < 0) log::Error("{}: dup3: {}", what, std::strerror(errno));
}

void NotifyReady(int fd) {
  if (fd < 0) return;
  static const char kReady[] = "ready\n";
  [[maybe_unused]] ssize_t n = ::write(fd, kReady, sizeof(kReady) - 1);
}

// Per-request CPU time for the status page's "last request cpu". Reading a
// thread's CPU clock is a system call (about 1-4 us on a VM here, twice per
// request), so it is measured only when the pool has a status page. Set
// before the PHP threads start; read-only after.
bool g_measure_cpu = false;

int64_t CpuNow() { return g_measure_cpu ? scoreboard::ThreadCpuNanos() : 0; }

void BeginRequest(scoreboard::SlotWriter& w, const Connection& c) {
  scoreboard::SlotWriter::Request r;
  r.method = c.FindParam("REQUEST_METHOD").value_or("");
  r.uri = c.FindParam("REQUEST_URI").value_or("");
  r.script = c.FindParam("SCRIPT_FILENAME").value_or("");
  r.script_name = c.FindParam("SCRIPT_NAME").value_or("");
  r.query = c.FindParam("QUERY_STRING").value_or("");
  const std::string_view length = c.FindParam("CONTENT_LENGTH").value_or("");
  std::from_chars(length.data(), length.data() + length.size(), r.content_length);
  w.BeginRequest(scoreboard::RealtimeMicros(), CpuNow(), r);
}

void EndRequest(scoreboard::SlotWriter& w, const sapi::RequestOutcome& outcome) {
  w.EndRequest(scoreboard::RealtimeMicros(), CpuNow(), outcome.http_status, outcome.memory_peak,
               outcome.auth_user);
}

// A classic pool's PHP thread: each request runs SCRIPT_FILENAME in a full
// PHP request cycle. The thread's interpreter (its TSRM context: persistent
// resources such as pfsockopen() sockets and persistent database links,
// extension globals) is replaced after max_requests, and after any request
// that ended on a fatal error or a bailout: the engine unwound that request
// mid-way, so state held across requests may be half-changed (a persistent
// connection inside a transaction, an extension's global in mid-update).
// And after a request whose Zend heap peaked over memory_recycle: the Zend
// allocator keeps up to the average of recent peaks in cached chunks after
// a request, so a thread that served a large request holds on to that
// memory until its interpreter is replaced.
void ClassicThread(int index, Server& srv, scoreboard::Segment& board, uint64_t max_requests,
                   uint64_t memory_recycle) {
  scoreboard::SlotWriter slot(board.slot(static_cast<uint32_t>(index)));
  slot.SetState(scoreboard::ThreadState::kStarting);
  std::optional<sapi::PhpThreadScope> scope;
  scope.emplace(index);
  slot.Started(scoreboard::RealtimeMicros());
  slot.SetState(scoreboard::ThreadState::kIdle);
  uint64_t served = 0;
  bool unwound = false;
  uint64_t over_memory = 0;  // the peak of the last request, if over memory_recycle
  const Server::Handler handler = [&served, &unwound, &over_memory, memory_recycle](Connection& c,
                                                                                    scoreboard::SlotWriter& w) {
    BeginRequest(w, c);
    const sapi::RequestOutcome outcome = sapi::ExecuteRequest(c);
    EndRequest(w, outcome);
    ++served;
    unwound = outcome.fatal_error || outcome.bailout;
    if (InterpreterOverMemory(memory_recycle, outcome.memory_peak)) over_memory = outcome.memory_peak;
    return Server::Disposition::kServed;
  };
  while (srv.ServeOne(index, handler)) {
    if ((max_requests != 0 && served >= max_requests) || unwound || over_memory != 0) {
      // Recycle this thread's interpreter: a fresh TSRM context, as a
      // php-fpm child would be replaced after pm.max_requests.
      if (unwound) log::Debug("thread {}: interpreter recycled after a fatal error", index);
      if (over_memory != 0) {
        board.header()->memory_recycles.fetch_add(1, std::memory_order_relaxed);
        log::Notice("thread {}: interpreter recycled: the last request's Zend heap peaked at {} bytes, over "
                    "memory_recycle ({} bytes)",
                    index, over_memory, memory_recycle);
      }
      over_memory = 0;
      unwound = false;
      scope.reset();
      scope.emplace(index);
      slot.Started(scoreboard::RealtimeMicros());
      served = 0;
    }
  }
  scope.reset();
  slot.SetState(scoreboard::ThreadState::kStopped);
}

// Shared by the worker-mode threads of this process; read-only after
// start except `epoch`, which the main thread bumps when a watched file
// changes.
struct WorkerModeContext {
  const config::PoolConfig* pool = nullptr;
  std::atomic<uint64_t> epoch{0};
};

// Feeds tfpm_handle_request() from the Server: one complete request per
// Next(). A request that arrives after a watched file changed is deferred
// to the next run of the script, which then serves it first.
class ServerSource final : public sapi::RequestSource {
 public:
  ServerSource(Server& srv, int index, const std::atomic<uint64_t>& epoch)
      : srv_(srv), index_(index), epoch_(epoch), run_epoch_(epoch.load(std::memory_order_acquire)),
        // Built once per run, not per request: it reads the current call's
        // state from the members below.
        handler_([this](Connection& c, scoreboard::SlotWriter& w) { return Handle(c, w); }) {}

  bool Next(Serve& serve) override {
    if (stale_) return false;
    serve_ = &serve;
    served_ = false;
    while (!served_ && !stale_) {
      if (!srv_.ServeOne(index_, handler_)) return false;
    }
    return served_;
  }
  bool stale() const { return stale_; }

 private:
  Server::Disposition Handle(Connection& c, scoreboard::SlotWriter& w) {
    if (epoch_.load(std::memory_order_acquire) != run_epoch_) {
      stale_ = true;
      return Server::Disposition::kDeferred;
    }
    BeginRequest(w, c);
    const sapi::RequestOutcome outcome = (*serve_)(c);
    EndRequest(w, outcome);
    served_ = true;
    return Server::Disposition::kServedStop;
  }

  Server& srv_;
  const int index_;
  const std::atomic<uint64_t>& epoch_;
  const uint64_t run_epoch_;
  const Server::Handler handler_;
  Serve* serve_ = nullptr;  // the current Next() call's
  bool served_ = false;
  bool stale_ = false;
};

std::chrono::milliseconds Backoff(int failures) {
  const int shift = std::min(failures - 1, 7);  // 100 ms .. 12.8 s
  return std::chrono::milliseconds(100LL << std::max(shift, 0));
}

// A worker pool's PHP thread: runs the app script, which serves requests
// through tfpm_handle_request(), again and again: after max_requests or
// memory_recycle (fresh interpreter), after a failure (with backoff), until
// the server stops. Too many consecutive failures leave the thread failed:
// it answers 503 until the pool is restarted.
void WorkerModeThread(int index, Server& srv, scoreboard::Segment& board, WorkerModeContext& ctx) {
  const config::PoolConfig& pool = *ctx.pool;
  scoreboard::SlotWriter slot(board.slot(static_cast<uint32_t>(index)));
  sapi::WorkerOptions options;
  options.script = pool.worker_script;
  options.max_requests = pool.worker.max_requests;
  // worker.memory_recycle, else the pool's memory_recycle.
  options.memory_recycle = pool.worker.memory_recycle != 0 ? pool.worker.memory_recycle : pool.memory_recycle;
  options.leak_check = static_cast<sapi::WorkerOptions::LeakCheck>(pool.worker.leak_check);
  options.leak_warmup = pool.worker.leak_warmup;
  options.leak_allow = pool.worker.leak_allow;
  options.state_leaks = &board.header()->state_leaks;
  int failures = 0;
  uint64_t runs = 0;
  while (!srv.stopping()) {
    slot.SetState(scoreboard::ThreadState::kStarting);
    std::optional<sapi::PhpThreadScope> scope;
    scope.emplace(index);
    slot.Started(scoreboard::RealtimeMicros());
    slot.SetState(scoreboard::ThreadState::kIdle);
    ServerSource source(srv, index, ctx.epoch);
    const sapi::WorkerRun run = sapi::RunWorkerScript(options, source);
    scope.reset();
    ++runs;
    board.header()->CountRestart(source.stale() ? base::RestartCause::kWatch : run.cause);
    // A stale source also ends the run with "stop": the request that found
    // it stale waits in this thread's carry for the next run.
    if (run.end == sapi::WorkerRun::End::kStopped && !source.stale()) break;
    if (run.end != sapi::WorkerRun::End::kFailed || source.stale()) {
      failures = 0;
      if (!source.stale() && run.cause == base::RestartCause::kMemory) {
        log::Notice("thread {}: worker script {} restarts after {} requests ({})", index, pool.worker_script,
                    run.requests, run.reason);
      } else {
        log::Debug("thread {}: worker script restarts after {} requests ({})", index, run.requests,
                   source.stale() ? "watched files changed" : run.reason);
      }
      continue;
    }
    failures = run.requests > 0 ? 1 : failures + 1;
    if (failures >= pool.worker.max_consecutive_failures) {
      log::Alert("thread {}: worker script {} failed {} consecutive times (last: {}); the thread answers 503 "
                 "until the pool is restarted",
                 index, pool.worker_script, failures, run.reason);
      slot.SetState(scoreboard::ThreadState::kFailed);
      const Server::Handler unavailable = [](Connection& c, scoreboard::SlotWriter&) {
        fastcgi::RespondUnavailable(c, "tfpm: the pool's worker script has failed");
        return Server::Disposition::kServed;
      };
      while (srv.ServeOne(index, unavailable)) {
      }
      break;
    }
    const auto delay = Backoff(failures);
    log::Warning("thread {}: worker script {} failed after {} requests ({}); restarting in {} ms", index,
                 pool.worker_script, run.requests, run.reason, delay.count());
    if (!srv.SleepUnlessStopping(delay)) break;
  }
  slot.SetState(scoreboard::ThreadState::kStopped);
}

// inotify on a worker pool's `watch` paths (each file, or each directory
// and its subdirectories); any change bumps the epoch.
class Watcher {
 public:
  bool Start(const std::vector<std::string>& paths) {
    fd_.Reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!fd_) {
      log::Error("inotify_init1: {}", std::strerror(errno));
      return false;
    }
    for (const auto& p : paths) AddTree(p, 0);
    return true;
  }
  int fd() const { return fd_.get(); }
  // Drains pending events; true if any.
  bool Drain() {
    alignas(inotify_event) char buf[4096];
    bool any = false;
    for (;;) {
      const ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
      if (n <= 0) return any;
      any = true;
    }
  }

 private:
  void AddTree(const std::string& path, int depth) {
    constexpr uint32_t kMask = IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM |
                               IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB;
    if (::inotify_add_watch(fd_.get(), path.c_str(), kMask) < 0) {
      log::Warning("watch {}: {}", path, std::strerror(errno));
      return;
    }
    if (depth >= 16) return;
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) return;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      if (entry.is_directory(ec) && !entry.is_symlink(ec)) AddTree(entry.path().string(), depth + 1);
    }
  }
  os::UniqueFd fd_;
};

}  // namespace

int WorkerMain(int argc, char** argv) {
  Args args;
  std::string err;
  if (!ParseArgs(argc, argv, &args, &err)) {
    std::fprintf(stderr, "tfpm-worker: %s\n", err.c_str());
    return 2;
  }
  if (args.cli != PhpCliMode::kNone) return RunPhpCli(args.cli, args.config_path);
  // PHP_INI_SCAN_DIR as the daemon was started with it: clear_env must not
  // take it away before MINIT reads the scan directory.
  const char* scan_env = std::getenv("PHP_INI_SCAN_DIR");
  const std::string inherited_scan_dir = scan_env ? scan_env : "";
  if (args.config_fd < 0 || args.pool.empty()) {
    std::fprintf(stderr, "tfpm-worker is started by tfpm; see tfpm --help\n");
    return 2;
  }

  auto text = os::ReadFd(args.config_fd);
  ::close(args.config_fd);
  // The descriptors the supervisor placed here (dup2 cleared FD_CLOEXEC)
  // are ours alone: a program PHP starts (exec, proc_open, mail) must not
  // inherit the pool's socket, the supervisor's channel, the scoreboard or
  // the log. stdout and stderr stay inherited, as under php-fpm.
  for (int fd : args.listen_fds) (void)os::SetCloseOnExec(fd);
  for (int fd : {args.notify_fd, args.scoreboard_fd, args.log_fd}) {
    if (fd >= 0) (void)os::SetCloseOnExec(fd);
  }
  if (!text.ok()) {
    std::fprintf(stderr, "tfpm-worker: reading config: %s\n", text.status().message().c_str());
    return 1;
  }
  auto cfg = config::LoadConfigString(*text, args.source);
  if (!cfg.ok()) {
    std::fprintf(stderr, "tfpm-worker: %s\n", cfg.status().message().c_str());
    return 1;
  }
  const config::PoolConfig* pool = nullptr;
  for (const auto& p : cfg->pools) {
    if (p.name == args.pool) pool = &p;
  }
  if (pool == nullptr) {
    std::fprintf(stderr, "tfpm-worker: no pool '%s' in %s\n", args.pool.c_str(), args.source.c_str());
    return 1;
  }
  const pid_t pid = ::getpid();
  // Our parent is the supervisor that spawned us (checked again after the
  // user switch re-arms the parent-death signal).
  const pid_t parent = ::getppid();
  std::string log_target = cfg->daemon.error_log;
  if (args.log_fd >= 0) {
    if (args.log_is_file) {
      log_target = "file-fd:" + std::to_string(args.log_fd);
    } else if (log_target == "stderr") {
      log_target = "fd:" + std::to_string(args.log_fd);
    }
  }
  if (Status st = log::Init(log_target, ToLogLevel(cfg->daemon.log_level),
                            "pool " + pool->name + " " + std::to_string(pid));
      !st.ok()) {
    std::fprintf(stderr, "tfpm-worker: %s\n", st.message().c_str());
    return 1;
  }
  log::SetLineLimit(cfg->daemon.log_limit);

  // All async signals go to the main thread through a signalfd; PHP threads
  // inherit the blocked mask and only ever see their own timer signal.
  auto signals = os::SignalFd::Create({SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGHUP});
  if (!signals.ok()) {
    log::Alert("{}", signals.status().message());
    return 1;
  }
  os::IgnoreSigpipe();

  // Confinement, before PHP reads a single file (docs/security.md
  // "Isolation"): the user is looked up here, as root and before any
  // chroot, then limits, chroot, the user switch (checked), dumpable and
  // the parent-death signal again.
  os::SystemCredentials credentials;
  std::optional<os::Identity> user;
  if (!pool->user.empty() && credentials.EffectiveUid() == 0) {
    auto id = os::LookupIdentity(pool->user, pool->group);
    if (!id.ok()) {
      log::Alert("pool {}: user: {}", pool->name, id.status().message());
      return 1;
    }
    user = std::move(id.value());
  }
  ApplyEnvironment(*pool, user);
  // process_memory_limit reads /proc/self/statm: opened before a chroot.
  std::optional<os::ResidentMemory> resident;
  if (pool->process_memory_limit != 0) {
    auto rm = os::ResidentMemory::Open();
    if (!rm.ok()) {
      log::Alert("pool {}: process_memory_limit: {}", pool->name, rm.status().message());
      return 1;
    }
    resident.emplace(std::move(rm.value()));
  }
  auto confined = Confine(PlanFor(*pool, user, args.notify_fd >= 0, parent), credentials);
  if (!confined.ok()) {
    log::Alert("pool {}: {}", pool->name, confined.status().message());
    return 1;
  }
  if (confined->switched) {
    log::Debug("running as {} (uid {}, gid {}){}", user->name, user->uid, user->gid,
               pool->chroot.empty() ? "" : " in chroot " + pool->chroot);
  }

  // Scoreboard: ours from the supervisor, or a private one when run alone.
  const uint32_t nthreads = static_cast<uint32_t>(pool->threads);
  auto board_mem = args.scoreboard_fd >= 0
                       ? os::SharedMemory::Adopt(os::UniqueFd(args.scoreboard_fd))
                       : os::SharedMemory::Create("tfpm-scoreboard", scoreboard::SegmentSize(nthreads));
  if (!board_mem.ok() || board_mem->size() < scoreboard::SegmentSize(nthreads)) {
    log::Alert("scoreboard: {}", board_mem.ok() ? "segment too small" : board_mem.status().message());
    return 1;
  }
  scoreboard::Segment board(board_mem->data(), board_mem->size());
  board.Initialize(nthreads, pid, scoreboard::RealtimeMicros());

  // The access log: this process opens the file; its PHP threads write
  // to it. A file that does not open is an error in the log, not a reason
  // to refuse requests (tfpm checked it at start).
  AccessLogFile access_file;
  sapi::RuntimeOptions runtime_options = RuntimeOptionsFor(*cfg, *pool, inherited_scan_dir);
  runtime_options.quiet_startup_deprecations = args.startup_reported;
  // PHP skips a php.ini it cannot read without a word: after the user
  // switch, say so and do not start without it.
  if (!runtime_options.ini_file.empty() && ::access(runtime_options.ini_file.c_str(), R_OK) != 0 &&
      errno == EACCES) {
    log::Alert("php.ini {}: {}{}", runtime_options.ini_file, std::strerror(errno),
               user ? " (the pool's user " + user->name + " must be able to read it)" : "");
    return 1;
  }
  if (!runtime_options.scan_dir.empty() && ::access(runtime_options.scan_dir.c_str(), R_OK | X_OK) != 0 &&
      errno == EACCES) {
    log::Alert("scan_dir {}: {}{}", runtime_options.scan_dir, std::strerror(errno),
               user ? " (the pool's user " + user->name + " must be able to read it)" : "");
    return 1;
  }
  if (!pool->access_log.empty()) {
    auto format = accesslog::Format::Compile(pool->access_format);  // checked by the loader
    Status opened = Status::Ok();
    if (args.access_log_fd >= 0) {
      access_file.Adopt(args.access_log_fd);  // opened by the supervisor
    } else {
      opened = access_file.Open(pool->access_log);
    }
    if (!opened.ok()) {
      log::Error("{}", opened.message());
    } else if (format.ok()) {
      auto access = std::make_shared<sapi::AccessLog>();
      access->format = std::move(*format);
      access->suppress_paths = pool->access_suppress_path;
      access->pool = pool->name;
      access->pid = pid;
      access->ppid = ::getppid();
      access->sink = &access_file;
      runtime_options.access_log = std::move(access);
    }
  }

  // MINIT, once, while this process still has a single thread.
  g_measure_cpu = !pool->status_path.empty();
  runtime_options.pool_status = [fd = args.notify_fd](bool full) { return QueryPoolStatus(fd, full); };
  if (Status st = sapi::PhpRuntime::Startup(runtime_options); !st.ok()) {
    log::Alert("{}", st.message());
    return 1;
  }
  if (!args.startup_reported) {  // the pool's first process says it, once
    for (const std::string& line : sapi::PhpRuntime::IniFileNotices()) log::Warning("{}", line);
    for (const std::string& line : sapi::PhpRuntime::SkippedExtensions()) log::Warning("{}", line);
  }
  if (Status st = config::CheckExtensionsForThreads(sapi::PhpRuntime::LoadedModules(), pool->threads,
                                                    "pool " + pool->name);
      !st.ok()) {
    log::Alert("{}", st.message());
    return 1;
  }
  // Filesystem confinement, after MINIT (PHP has read its ini files and
  // loaded its extensions) and before the first PHP thread: every request
  // runs under it, and so does whatever it starts.
  {
    std::string why;
    auto confined = ApplyFsConfine(pool->confine, &why);
    if (!confined.ok()) {
      log::Alert("pool {}: {}", pool->name, confined.status().message());
      return 1;
    }
    if (*confined == FsConfineOutcome::kUnavailable) {
      log::Warning("pool {}: confine: {}; running WITHOUT filesystem confinement (confine.required is false)",
                   pool->name, why);
    }
  }

  std::vector<os::UniqueFd> listeners;
  for (int fd : args.listen_fds) listeners.emplace_back(fd);
  ServerOptions options;
  options.threads = pool->threads;
  options.thread_stack_size = pool->thread_stack_size;
  options.max_requests = pool->max_requests;
  options.handoff_socket = args.notify_fd;
  const int total = args.total_threads > 0 ? args.total_threads : pool->threads * pool->processes;
  options.connection.max_conns = static_cast<uint32_t>(total);
  options.connection.max_reqs = static_cast<uint32_t>(total);
  options.connection.max_params_bytes = pool->max_params_size;
  options.connection.max_params = static_cast<size_t>(pool->max_params);
  options.connection.max_output = pool->max_connection_output;
  options.connection.max_connections = static_cast<size_t>(pool->max_connections);
  options.connection.idle_timeout_ms = pool->connection_idle_timeout.count();
  options.connection.header_timeout_ms = pool->request_header_timeout.count();
  if (auto clients = base::ClientFilter::Parse(pool->listen_allowed_clients); clients.ok()) {
    options.connection.allowed_clients = std::move(clients.value());
  } else {
    log::Alert("pool {}: listen_allowed_clients: {}", pool->name, clients.status().message());
    return 1;
  }
  Server server(options, std::move(listeners), &board);

  WorkerModeContext worker_mode;
  worker_mode.pool = pool;
  ThreadScaler scaler(ScalerOptions::For(*pool));
  const int initial = scaler.options().initial_threads();
  Status st = pool->mode == config::PoolMode::kWorker
                  ? server.Start([&board, &worker_mode](int index, Server& srv) {
                      WorkerModeThread(index, srv, board, worker_mode);
                    }, initial)
                  : server.Start([&board, pool](int index, Server& srv) {
                      ClassicThread(index, srv, board, pool->max_requests, pool->memory_recycle);
                    }, initial);
  if (!st.ok()) {
    log::Alert("starting threads: {}", st.message());
    return 1;
  }
  WaitForThreadsStarted(board, initial, signals->fd());
  NotifyReady(args.notify_fd);
  log::Debug("serving with {} of at most {} threads", initial, pool->threads);
  // pm dynamic/ondemand: the main thread starts and retires PHP threads.
  constexpr int kScaleTickMs = 25;
  auto scale = [&] {
    server.JoinExited();
    const int live = server.live_threads();
    const int idle = live - server.busy();
    const bool pending = idle <= 0 && live < pool->threads && server.Pending();
    int n = scaler.Decide(base::MonotonicMillis(), live, server.busy(), pending);
    if (scaler.last_was_rate_limited()) {
      // php-fpm's "seems busy" warning, at most once per 10 s.
      static base::RateLimit limit(10000);
      if (uint64_t more = 0; limit.Allow(&more)) {
        log::Warning("[pool {}] seems busy (you may need to increase start_threads or min/max_spare_threads): "
                     "max_spawn_rate ({}) threads started in this second; {} idle, {} running; {} time(s) "
                     "limited so far",
                     pool->name, scaler.options().max_spawn_rate, idle, live, scaler.spawn_rate_limited());
      }
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
  };
  const std::vector<int> listen_fds = server.listener_fds();

  // Main thread: signals, supervisor liveness, drain.
  using Clock = std::chrono::steady_clock;
  // A draining worker exits once no request runs and its kept connections
  // have all been quiet this long (Server::QuietFor).
  constexpr std::chrono::milliseconds kDrainQuiet{300};
  std::optional<Clock::time_point> drain_deadline;
  bool draining = false;
  const auto timeout = cfg->daemon.process_control_timeout;
  auto begin_drain = [&](const char* why) {
    if (draining) return;
    draining = true;
    board.header()->accepting.store(0, std::memory_order_relaxed);
    log::Debug("draining ({})", why);
    server.BeginDrain();
    // Tell the supervisor: a reload's answer waits for this, so connections
    // made after it reach the new generation.
    if (args.notify_fd >= 0) {
      static const char kDraining[] = "draining\n";
      [[maybe_unused]] ssize_t n = ::send(args.notify_fd, kDraining, sizeof(kDraining) - 1, MSG_NOSIGNAL);
    }
    if (timeout.count() > 0) drain_deadline = Clock::now() + timeout;
  };
  WatchdogOptions wd;
  wd.pool = pool->name;
  wd.terminate = pool->request_terminate_timeout;
  wd.track_finished = pool->request_terminate_timeout_track_finished;
  wd.slowlog = pool->request_slowlog_timeout;
  wd.slowlog_path = pool->slowlog;
  os::UniqueFd slowlog_fd(args.slowlog_fd);
  wd.slowlog_fd = slowlog_fd.get();
  wd.trace_depth = pool->request_slowlog_trace_depth;
  Watchdog watchdog(wd, &board);
  bool replacing = false;  // a thread is stuck: drain the others, then exit for a replacement
  int shed_since_log = 0;
  auto last_shed_log = std::chrono::steady_clock::now() - std::chrono::seconds(10);
  Watcher watcher;
  if (pool->mode == config::PoolMode::kWorker && !pool->worker.watch.empty()) watcher.Start(pool->worker.watch);
  bool supervisor_alive = args.notify_fd >= 0;
  // Process recycling (worker/process_recycler.h): checked every
  // kRecycleCheckMs by this thread, which never runs PHP, so the check sits
  // between requests of every thread and costs them nothing.
  constexpr int kRecycleCheckMs = 100;
  ProcessRecycler recycler({.max_requests = pool->process_max_requests, .memory_limit = pool->process_memory_limit},
                           static_cast<uint64_t>(pid) ^ (static_cast<uint64_t>(scoreboard::RealtimeMicros()) << 20));
  int64_t next_recycle_check = 0;
  auto check_recycle = [&] {
    const int64_t now = base::MonotonicMillis();
    if (now < next_recycle_check) return;
    next_recycle_check = now + kRecycleCheckMs;
    std::optional<uint64_t> rss;
    if (resident) {
      auto r = resident->Read();
      if (r.ok()) rss = *r;
    }
    const bool first = recycler.cause() == RecycleCause::kNone;
    const RecycleCause cause = recycler.Check(now, server.requests_served(), rss);
    if (cause == RecycleCause::kNone) return;
    if (first) {
      if (cause == RecycleCause::kMemory) {
        log::Notice("resident memory {} bytes is over process_memory_limit ({} bytes): asking for a replacement",
                    rss.value_or(0), pool->process_memory_limit);
      } else {
        log::Notice("served {} requests (process_max_requests {}, this process's threshold {}): asking for a "
                    "replacement",
                    server.requests_served(), pool->process_max_requests, recycler.request_threshold());
      }
    }
    const std::string msg = std::string(worker_contract::kRecycleMessage) + std::string(RecycleCauseName(cause)) + "\n";
    [[maybe_unused]] ssize_t n = ::send(args.notify_fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  };
  for (;;) {
    std::vector<pollfd> fds = {{signals->fd(), POLLIN, 0},
                               {watcher.fd(), POLLIN, 0},
                               {supervisor_alive ? args.notify_fd : -1, POLLIN | POLLRDHUP, 0}};
    // With no idle thread and room for one, a new connection wakes us at
    // once (ondemand's first request): poll() only looks at the listener.
    if (scaler.enabled() && !draining && server.live_threads() <= server.busy() &&
        server.live_threads() < pool->threads) {
      for (int fd : listen_fds) fds.push_back({fd, POLLIN, 0});
    }
    const bool shedding = pool->max_wait_time.count() > 0;
    int wait_ms = draining ? 20 : shedding ? 25 : watchdog.enabled() ? static_cast<int>(watchdog.interval().count()) : -1;
    if (scaler.enabled() && (wait_ms < 0 || wait_ms > kScaleTickMs)) wait_ms = kScaleTickMs;
    // The connection limits that need a clock (idle and header timeouts,
    // the accept() back-off).
    const int tick_ms = static_cast<int>(server.Tick().count());
    if (wait_ms < 0 || wait_ms > tick_ms) wait_ms = tick_ms;
    const bool recycling = recycler.enabled() && !draining && supervisor_alive;
    if (recycling && (wait_ms < 0 || wait_ms > kRecycleCheckMs)) wait_ms = kRecycleCheckMs;
    ::poll(fds.data(), static_cast<nfds_t>(fds.size()), wait_ms);
    if (scaler.enabled()) scale();
    if (recycling) check_recycle();
    if (shedding && !draining) {
      if (const int n = server.ShedOverdue(pool->max_wait_time); n > 0) {
        board.header()->rejected_requests.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
        shed_since_log += n;
      }
      if (shed_since_log > 0 && Clock::now() - last_shed_log >= std::chrono::seconds(1)) {
        log::Warning("all {} threads busy: {} request(s) answered 503 after waiting max_wait_time ({} ms)",
                     pool->threads, shed_since_log, pool->max_wait_time.count());
        shed_since_log = 0;
        last_shed_log = Clock::now();
      }
    }
    if (watchdog.enabled()) {
      watchdog.Tick();
      if (watchdog.stuck() > 0 && !replacing) {
        replacing = true;
        begin_drain("a thread is stuck after request_terminate_timeout");
      }
    }
    if (watcher.fd() >= 0 && (fds[1].revents & POLLIN) && watcher.Drain()) {
      log::Notice("watched files changed; worker scripts restart before their next request");
      worker_mode.epoch.fetch_add(1, std::memory_order_acq_rel);
    }
    for (const auto& sig : signals->Read()) {
      switch (sig.signo) {
        case SIGTERM:
        case SIGINT:
          // Immediate stop, as php-fpm's SIGTERM: requests in flight are cut.
          std::fflush(nullptr);
          ::_exit(0);
        case SIGQUIT: begin_drain("SIGQUIT"); break;
        case SIGUSR1:
          (void)log::Reopen();
          if (Status st = access_file.Reopen(); !st.ok()) log::Error("{}", st.message());
          break;
        default: break;
      }
    }
    if (fds[2].fd >= 0 && (fds[2].revents & (POLLIN | POLLHUP | POLLRDHUP | POLLERR))) {
      // Kept connections handed over from a draining older generation, or
      // EOF: the supervisor is gone. The socket stays open (the Server
      // holds its number); sends on it just fail from now on.
      std::string data;
      std::vector<os::UniqueFd> handed;
      const ssize_t n = os::ReceiveWithFds(args.notify_fd, &data, &handed);
      // The tag of a descriptor is the last byte read with it
      // (base/worker_contract.h).
      const char tag = data.empty() ? worker_contract::kTagConnection : data.back();
      for (os::UniqueFd& fd : handed) {
        switch (tag) {
          case worker_contract::kTagErrorLog:
            if (args.log_fd >= 0) ReplaceFd(fd.get(), args.log_fd, "error_log");
            break;
          case worker_contract::kTagAccessLog:
            if (Status st = access_file.Replace(fd.Release()); !st.ok()) log::Error("{}", st.message());
            break;
          case worker_contract::kTagSlowlog:
            if (slowlog_fd) ReplaceFd(fd.get(), slowlog_fd.get(), "slowlog");
            break;
          default: server.Adopt(std::move(fd)); break;
        }
      }
      if (n == 0 || (n < 0 && errno != EAGAIN)) {
        server.DisableHandOver();
        begin_drain("supervisor gone");
        supervisor_alive = false;
      }
    }
    if (replacing && server.busy() <= watchdog.stuck()) {
      // Only stuck threads are left: they cannot be joined. The supervisor
      // starts a replacement when this process exits.
      log::Alert("exiting with {} stuck thread(s) for a replacement process", watchdog.stuck());
      std::fflush(nullptr);
      ::_exit(kExitStuckThread);
    }
    if (draining) {
      const bool expired = drain_deadline && Clock::now() >= *drain_deadline;
      // Without the supervisor to hand kept connections to, wait until they
      // are quiet before closing them.
      if ((server.Idle() && (supervisor_alive || server.QuietFor(kDrainQuiet))) || expired) {
        if (expired) log::Warning("requests still running after process_control_timeout; stopping");
        if (expired) ::_exit(0);
        break;
      }
    }
  }
  server.Stop();
  server.Join();
  sapi::PhpRuntime::Shutdown();
  log::Debug("exited after {} requests; {} kept connection(s) handed over", server.requests_served(),
             server.connections_handed_over());
  return 0;
}

}  // namespace tfpm::worker
