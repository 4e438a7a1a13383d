#include "worker/process_setup.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "base/client_filter.h"
#include "base/log.h"
#include "config/extension_policy.h"
#include "config/load_yaml.h"
#include "os/fd_io.h"
#include "os/socket.h"
#include "os/this_process.h"
#include "worker/confine.h"
#include "worker/fs_confine.h"
#include "worker/limit_report.h"
#include "worker/runtime_options.h"
#include "worker/status_client.h"

namespace tfpm::worker {
namespace {

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

void SetEnv(const std::string& name, const std::string& value) {
  if (Status st = os::SetEnvironmentVariable(name, value); !st.ok()) log::Error("env: {}", st.message());
}

// php-fpm's clear_env: PHP sees only the pool's env entries; with a pool
// user, USER and HOME are that user's unless `env` sets them (php-fpm).
// The daemon's whole environment (values meant for another pool's `env`
// included) is scrubbed, not just forgotten (docs/security.md "Trust
// boundaries"). Nothing holds on to it: what the worker needs from its
// environment (PHP_INI_SCAN_DIR, the config's ${VAR}) was read before this
// point, and copied.
void ApplyEnvironment(const config::PoolConfig& pool, const std::optional<os::Identity>& user) {
  if (pool.clear_env) os::ScrubEnvironment();
  for (const auto& [k, v] : pool.env) SetEnv(k, v);
  if (!user) return;
  auto set = [&pool](const char* name, const std::string& value) {
    for (const auto& [k, v] : pool.env) {
      if (k == name) return;
    }
    if (!value.empty()) SetEnv(name, value);
  };
  set("USER", user->name);
  set("HOME", user->home);
}

// The pool's isolation keys as a plan for Confine (worker/confine.h).
ConfinePlan PlanFor(const config::PoolConfig& pool, std::optional<os::Identity> user, bool supervised,
                    pid_t parent) {
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

// The descriptors the supervisor placed here (dup2 cleared FD_CLOEXEC)
// are ours alone: a program PHP starts (exec, proc_open, mail) must not
// inherit the pool's socket, the supervisor's channel, the scoreboard or
// the log. stdout and stderr stay inherited, as under php-fpm.
void KeepInheritedFdsFromExec(const WorkerArgs& args) {
  std::vector<int> fds = args.listen_fds;
  for (int fd : {args.notify_fd, args.scoreboard_fd, args.log_fd}) {
    if (fd >= 0) fds.push_back(fd);
  }
  for (int fd : fds) {
    if (Status st = os::SetCloseOnExec(fd); !st.ok()) {
      std::fprintf(stderr, "tfpm-worker: descriptor %d: %s\n", fd, st.message().c_str());
    }
  }
}

// PHP skips a php.ini it cannot read without a word: after the user
// switch, say so and do not start without it.
Status CheckReadable(const char* what, const std::string& path, int mode, const std::optional<os::Identity>& user) {
  if (path.empty()) return Status::Ok();
  auto allowed = os::Accessible(path, mode);
  if (!allowed.ok() || *allowed) return Status::Ok();  // only a refusal stops the start
  return Status::IoError(std::string(what) + " " + path + ": " + std::strerror(EACCES) +
                         (user ? " (the pool's user " + user->name + " must be able to read it)" : ""));
}

}  // namespace

int LoadPool(WorkerProcess& p) {
  const WorkerArgs& args = p.args;
  auto text = os::ReadFd(args.config_fd);
  if (Status st = os::CloseFd(args.config_fd); !st.ok()) {
    std::fprintf(stderr, "tfpm-worker: config descriptor: %s\n", st.message().c_str());
  }
  KeepInheritedFdsFromExec(args);
  if (!text.ok()) {
    std::fprintf(stderr, "tfpm-worker: reading config: %s\n", text.status().message().c_str());
    return 1;
  }
  auto cfg = config::LoadConfigString(*text, args.source);
  if (!cfg.ok()) {
    std::fprintf(stderr, "tfpm-worker: %s\n", cfg.status().message().c_str());
    return 1;
  }
  p.config = std::move(cfg.value());
  for (const auto& pool : p.config.pools) {
    if (pool.name == args.pool) p.pool = &pool;
  }
  if (p.pool == nullptr) {
    std::fprintf(stderr, "tfpm-worker: no pool '%s' in %s\n", args.pool.c_str(), args.source.c_str());
    return 1;
  }
  p.pid = os::CurrentPid();
  // Our parent is the supervisor that spawned us (checked again after the
  // user switch re-arms the parent-death signal).
  p.parent = os::ParentPid();
  return 0;
}

Status InitLogging(WorkerProcess& p) {
  std::string log_target = p.config.daemon.error_log;
  if (p.args.log_fd >= 0) {
    if (p.args.log_is_file) {
      log_target = "file-fd:" + std::to_string(p.args.log_fd);
    } else if (log_target == "stderr") {
      log_target = "fd:" + std::to_string(p.args.log_fd);
    }
  }
  if (Status st = log::Init(log_target, ToLogLevel(p.config.daemon.log_level),
                            "pool " + p.pool->name + " " + std::to_string(p.pid));
      !st.ok()) {
    return st;
  }
  log::SetLineLimit(p.config.daemon.log_limit);
  return Status::Ok();
}

// PHP threads inherit the blocked mask and only ever see their own timer
// signal.
Status BlockSignals(WorkerProcess& p) {
  auto signals = os::SignalFd::Create({SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGHUP});
  if (!signals.ok()) return signals.status();
  p.signals.emplace(std::move(signals.value()));
  os::IgnoreSigpipe();
  return Status::Ok();
}

// The user is looked up here, as root and before any chroot, then limits,
// chroot, the user switch (checked), dumpable and the parent-death signal
// again.
Status ConfineProcess(WorkerProcess& p) {
  const config::PoolConfig& pool = *p.pool;
  os::SystemCredentials credentials;
  if (!pool.user.empty() && credentials.EffectiveUid() == 0) {
    auto id = os::LookupIdentity(pool.user, pool.group);
    if (!id.ok()) return Status::InvalidArgument("pool " + pool.name + ": user: " + id.status().message());
    p.user = std::move(id.value());
  }
  ApplyEnvironment(pool, p.user);
  // process_memory_limit reads /proc/self/statm: opened before a chroot.
  if (pool.process_memory_limit != 0) {
    auto rm = os::ResidentMemory::Open();
    if (!rm.ok()) return Status::IoError("pool " + pool.name + ": process_memory_limit: " + rm.status().message());
    p.resident.emplace(std::move(rm.value()));
  }
  auto confined = Confine(PlanFor(pool, p.user, p.args.notify_fd >= 0, p.parent), credentials);
  if (!confined.ok()) return Status::IoError("pool " + pool.name + ": " + confined.status().message());
  if (confined->switched) {
    log::Debug("running as {} (uid {}, gid {}){}", p.user->name, p.user->uid, p.user->gid,
               pool.chroot.empty() ? "" : " in chroot " + pool.chroot);
  }
  return Status::Ok();
}

Status MapScoreboard(WorkerProcess& p) {
  const uint32_t nthreads = static_cast<uint32_t>(p.pool->threads);
  auto mem = p.args.scoreboard_fd >= 0
                 ? os::SharedMemory::Adopt(os::UniqueFd(p.args.scoreboard_fd))
                 : os::SharedMemory::Create("tfpm-scoreboard", scoreboard::SegmentSize(nthreads));
  if (!mem.ok() || mem->size() < scoreboard::SegmentSize(nthreads)) {
    return Status::IoError("scoreboard: " + (mem.ok() ? std::string("segment too small") : mem.status().message()));
  }
  p.board_memory.emplace(std::move(mem.value()));
  p.board.emplace(p.board_memory->data(), p.board_memory->size());
  p.board->Initialize(nthreads, p.pid, scoreboard::RealtimeMicros());
  return Status::Ok();
}

// The access log: this process opens the file; its PHP threads write to it.
// A file that does not open is an error in the log, not a reason to refuse
// requests (tfpm checked it at start).
Status PrepareRuntime(WorkerProcess& p) {
  const config::PoolConfig& pool = *p.pool;
  p.runtime_options = RuntimeOptionsFor(p.config, pool, p.inherited_scan_dir);
  p.runtime_options.quiet_startup_deprecations = p.args.startup_reported;
  p.runtime_options.user_ini_cache_full = [board = p.board->header()](std::string_view what) {
    TripLimit(board, scoreboard::Limit::kUserIniCacheFull, what);
  };
  if (Status st = CheckReadable("php.ini", p.runtime_options.ini_file, R_OK, p.user); !st.ok()) return st;
  if (Status st = CheckReadable("scan_dir", p.runtime_options.scan_dir, R_OK | X_OK, p.user); !st.ok()) return st;
  if (pool.access_log.empty()) return Status::Ok();
  auto format = accesslog::Format::Compile(pool.access_format);  // checked by the loader
  Status opened = Status::Ok();
  if (p.args.access_log_fd >= 0) {
    p.access_file.Adopt(p.args.access_log_fd);  // opened by the supervisor
  } else {
    opened = p.access_file.Open(pool.access_log);
  }
  if (!opened.ok()) {
    log::Error("{}", opened.message());
  } else if (format.ok()) {
    auto access = std::make_shared<sapi::AccessLog>();
    access->format = std::move(*format);
    access->suppress_paths = pool.access_suppress_path;
    access->pool = pool.name;
    access->pid = p.pid;
    access->ppid = os::ParentPid();
    access->sink = &p.access_file;
    p.runtime_options.access_log = std::move(access);
  }
  return Status::Ok();
}

Status StartPhp(WorkerProcess& p) {
  const config::PoolConfig& pool = *p.pool;
  p.runtime_options.pool_status = [fd = p.args.notify_fd](bool full) { return QueryPoolStatus(fd, full); };
  if (Status st = sapi::PhpRuntime::Startup(p.runtime_options); !st.ok()) return st;
  if (!p.args.startup_reported) {  // the pool's first process says it, once
    for (const std::string& line : sapi::PhpRuntime::IniFileNotices()) log::Warning("{}", line);
    for (const std::string& line : sapi::PhpRuntime::SkippedExtensions()) log::Warning("{}", line);
  }
  if (Status st = config::CheckExtensionsForThreads(sapi::PhpRuntime::LoadedModules(), pool.threads,
                                                    "pool " + pool.name);
      !st.ok()) {
    return st;
  }
  // Filesystem confinement, after MINIT (PHP has read its ini files and
  // loaded its extensions) and before the first PHP thread: every request
  // runs under it, and so does whatever it starts.
  std::string why;
  auto confined = ApplyFsConfine(pool.confine, &why);
  if (!confined.ok()) return Status::IoError("pool " + pool.name + ": " + confined.status().message());
  if (*confined == FsConfineOutcome::kUnavailable) {
    log::Warning("pool {}: confine: {}; running WITHOUT filesystem confinement (confine.required is false)",
                 pool.name, why);
  }
  return Status::Ok();
}

Result<DispatcherOptions> ServerOptionsFor(const WorkerProcess& p) {
  const config::PoolConfig& pool = *p.pool;
  DispatcherOptions options;
  options.threads = pool.threads;
  options.thread_stack_size = pool.thread_stack_size;
  options.max_requests = pool.max_requests;
  options.idle_trim = pool.idle_trim;
  options.handoff_socket = p.args.notify_fd;
  options.accept_pending = pool.processes == 1;
  options.linger = LingerFor(pool.threads, os::UsableCpus());
  const int total = p.args.total_threads > 0 ? p.args.total_threads : pool.threads * pool.processes;
  options.connection.max_conns = static_cast<uint32_t>(total);
  options.connection.max_reqs = static_cast<uint32_t>(total);
  options.connection.max_params_bytes = pool.max_params_size;
  options.connection.max_params = static_cast<size_t>(pool.max_params);
  options.connection.max_output = pool.max_connection_output;
  options.connection.max_connections = static_cast<size_t>(pool.max_connections);
  options.connection.idle_timeout_ms = pool.connection_idle_timeout.count();
  options.connection.header_timeout_ms = pool.request_header_timeout.count();
  auto clients = base::ClientFilter::Parse(pool.listen_allowed_clients);
  if (!clients.ok()) {
    return Status::InvalidArgument("pool " + pool.name + ": listen_allowed_clients: " + clients.status().message());
  }
  options.connection.allowed_clients = std::move(clients.value());
  return options;
}

}  // namespace tfpm::worker
