#include "supervisor/supervisor.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "scoreboard/scoreboard.h"
#include "tfpm_build_config.h"

namespace tfpm::supervisor {
namespace {

// epoll tokens: kind in the top byte, an fd or pid below.
enum TokenKind : uint64_t { kSignal = 1, kControlListen = 2, kControlClient = 3, kNotify = 4, kOutput = 5 };
uint64_t Token(TokenKind kind, uint64_t id) { return (static_cast<uint64_t>(kind) << 56) | id; }
TokenKind KindOf(uint64_t token) { return static_cast<TokenKind>(token >> 56); }
uint64_t IdOf(uint64_t token) { return token & ((1ull << 56) - 1); }

// Descriptor numbers in a worker (worker/worker_main.h).
constexpr int kChildConfigFd = 3;
constexpr int kChildNotifyFd = 4;
constexpr int kChildScoreboardFd = 5;
constexpr int kChildLogFd = 6;
constexpr int kChildFirstListenFd = 7;

constexpr std::chrono::milliseconds kFastStopGrace{2000};
constexpr std::chrono::milliseconds kGracefulExtra{2000};

double Seconds(os::TimePoint from, os::TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}

void MakeParentDir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return;
  const std::string dir = path.substr(0, slash);
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) return;
  MakeParentDir(dir);
  ::mkdir(dir.c_str(), 0755);
}

}  // namespace

Supervisor::Supervisor(config::Config config, SupervisorOptions options, os::Spawner* spawner,
                       const os::Clock* clock)
    : config_(std::move(config)),
      options_(std::move(options)),
      spawner_(spawner),
      clock_(clock),
      started_at_(clock->Now()) {}

Supervisor::~Supervisor() {
  // Never leave a worker behind, whatever path led here.
  for (auto& [pid, w] : workers_) (void)os::Kill(pid, SIGKILL);
  for (const auto& l : listeners_) {
    if (l->address.kind == os::ListenAddress::Kind::kUnix) ::unlink(l->address.path.c_str());
  }
  if (control_fd_) ::unlink(config_.daemon.control_socket.c_str());
}

Status Supervisor::Start() {
  auto signals = os::SignalFd::Create({SIGCHLD, SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGHUP});
  if (!signals.ok()) return signals.status();
  signals_.emplace(std::move(signals.value()));
  os::IgnoreSigpipe();
  auto poller = os::Poller::Create();
  if (!poller.ok()) return poller.status();
  poller_.emplace(std::move(poller.value()));
  if (Status st = poller_->Add(signals_->fd(), EPOLLIN, Token(kSignal, 0)); !st.ok()) return st;

  if (!config_.daemon.pid_file.empty()) {
    MakeParentDir(config_.daemon.pid_file);
    auto pid = os::PidFile::Create(config_.daemon.pid_file);
    if (!pid.ok()) return pid.status();
    pid_file_.emplace(std::move(pid.value()));
  }
  auto cfg_fd = os::MemfdWithContents("tfpm-config", options_.config_text);
  if (!cfg_fd.ok()) return cfg_fd.status();
  config_fd_ = std::move(cfg_fd.value());
  if (config_.daemon.error_log == "stderr") log_fd_.Reset(::fcntl(2, F_DUPFD_CLOEXEC, 3));

  if (Status st = OpenListeners(); !st.ok()) return st;
  if (Status st = OpenControlSocket(); !st.ok()) return st;

  for (Pool& pool : pools_) {
    for (int i = 0; i < static_cast<int>(pool.slots.size()); ++i) {
      if (Status st = SpawnWorker(pool, i); !st.ok()) return st;
    }
  }
  log::Notice("tfpm {} started, pid {}, {} pool(s)", TFPM_VERSION, ::getpid(), pools_.size());
  return Status::Ok();
}

Status Supervisor::OpenListeners() {
  for (const auto& pc : config_.pools) {
    auto address = os::ParseListenAddress(pc.listen);
    if (!address.ok()) {
      return Status::InvalidArgument(config_.source + ":" + std::to_string(pc.line) + ": pools." + pc.name +
                                     ".listen: " + address.status().message());
    }
    if (address->kind == os::ListenAddress::Kind::kUnix) MakeParentDir(address->path);
    os::ListenOptions lo;
    lo.backlog = pc.listen_backlog;
    lo.mode = pc.listen_mode;
    lo.owner = pc.listen_owner;
    lo.group = pc.listen_group;
    auto fd = os::Listen(*address, lo);
    if (!fd.ok()) return Status::IoError("pool " + pc.name + ": " + fd.status().message());
    auto listener = std::make_unique<Listener>();
    listener->address = *address;
    listener->fd = std::move(fd.value());
    Pool pool;
    pool.config = pc;
    pool.listener = listener.get();
    pool.slots.resize(static_cast<size_t>(pc.processes));
    listeners_.push_back(std::move(listener));
    pools_.push_back(std::move(pool));
    log::Notice("pool {}: listening on {}, {} process(es) x {} thread(s)", pc.name, address->ToString(),
                pc.processes, pc.threads);
  }
  return Status::Ok();
}

Status Supervisor::OpenControlSocket() {
  const std::string& path = config_.daemon.control_socket;
  if (path.empty()) return Status::Ok();
  MakeParentDir(path);
  os::ListenOptions lo;
  lo.mode = 0600;
  lo.backlog = 64;
  auto fd = os::Listen(os::ListenAddress{os::ListenAddress::Kind::kUnix, path, "", 0}, lo);
  if (!fd.ok()) return Status::IoError("control_socket: " + fd.status().message());
  control_fd_ = std::move(fd.value());
  return poller_->Add(control_fd_.get(), EPOLLIN, Token(kControlListen, 0));
}

Status Supervisor::SpawnWorker(Pool& pool, int slot_index) {
  auto w = std::make_unique<Worker>();
  w->pool = pool.config.name;
  w->slot = slot_index;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) {
    return ErrnoStatus("socketpair", errno);
  }
  w->notify.Reset(sv[0]);
  os::UniqueFd child_notify(sv[1]);
  auto board = os::SharedMemory::Create(
      "tfpm-scoreboard", scoreboard::SegmentSize(static_cast<uint32_t>(pool.config.threads)));
  if (!board.ok()) return board.status();
  w->board.emplace(std::move(board.value()));

  os::SpawnSpec spec;
  spec.executable = options_.worker_executable;
  spec.parent_death_signal = SIGTERM;
  spec.fds = {{config_fd_.get(), kChildConfigFd},
              {child_notify.get(), kChildNotifyFd},
              {w->board->fd(), kChildScoreboardFd},
              {pool.listener->fd.get(), kChildFirstListenFd}};
  int total_threads = 0;
  for (const Pool& p : pools_) {
    if (p.config.name == pool.config.name) total_threads = p.config.threads * p.config.processes;
  }
  spec.args = {"--pool", pool.config.name,
               "--source", config_.source,
               "--config-fd", std::to_string(kChildConfigFd),
               "--notify-fd", std::to_string(kChildNotifyFd),
               "--scoreboard-fd", std::to_string(kChildScoreboardFd),
               "--listen-fds", std::to_string(kChildFirstListenFd),
               "--total-threads", std::to_string(total_threads)};
  if (log_fd_) {
    spec.fds.emplace_back(log_fd_.get(), kChildLogFd);
    spec.args.insert(spec.args.end(), {"--log-fd", std::to_string(kChildLogFd)});
  }
  os::UniqueFd out_write;
  if (pool.config.catch_workers_output) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoStatus("pipe2", errno);
    w->output.Reset(p[0]);
    out_write.Reset(p[1]);
    spec.fds.emplace_back(out_write.get(), 1);
    spec.fds.emplace_back(out_write.get(), 2);
  }
  auto pid = spawner_->Spawn(spec);
  if (!pid.ok()) return Status::IoError("pool " + pool.config.name + ": " + pid.status().message());
  w->pid = *pid;
  w->started_at = clock_->Now();
  if (Status st = poller_->Add(w->notify.get(), EPOLLIN | EPOLLRDHUP, Token(kNotify, static_cast<uint64_t>(w->pid)));
      !st.ok()) {
    return st;
  }
  if (w->output) {
    (void)poller_->Add(w->output.get(), EPOLLIN, Token(kOutput, static_cast<uint64_t>(w->pid)));
  }
  pool.slots[static_cast<size_t>(slot_index)].pid = w->pid;
  pool.slots[static_cast<size_t>(slot_index)].restart_at.reset();
  log::Notice("[pool {}] child {} started", pool.config.name, w->pid);
  workers_.emplace(w->pid, std::move(w));
  return Status::Ok();
}

Supervisor::Pool* Supervisor::FindPool(const std::string& name) {
  for (Pool& p : pools_) {
    if (p.config.name == name) return &p;
  }
  return nullptr;
}

int Supervisor::Run() {
  epoll_event events[32];
  for (;;) {
    if (stop_mode_ != StopMode::kNone && workers_.empty()) break;
    std::chrono::milliseconds timeout(-1);
    if (auto deadline = NextDeadline()) {
      timeout = std::max(std::chrono::milliseconds(0),
                         std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - clock_->Now()) +
                             std::chrono::milliseconds(1));
    }
    const int n = poller_->Wait(events, timeout);
    for (int i = 0; i < n; ++i) {
      const uint64_t token = events[i].data.u64;
      switch (KindOf(token)) {
        case kSignal: HandleSignals(); break;
        case kControlListen: AcceptControl(); break;
        case kControlClient: HandleControl(static_cast<int>(IdOf(token))); break;
        case kNotify: HandleNotify(static_cast<pid_t>(IdOf(token))); break;
        case kOutput: HandleOutput(static_cast<pid_t>(IdOf(token)), false); break;
      }
    }
    StartDueRestarts();
    if (kill_deadline_ && clock_->Now() >= *kill_deadline_) {
      for (auto& [pid, w] : workers_) {
        log::Warning("[pool {}] child {} still running; sending SIGKILL", w->pool, pid);
        (void)os::Kill(pid, SIGKILL);
      }
      kill_deadline_.reset();
    }
  }
  log::Notice("exiting, bye-bye!");
  return exit_code_;
}

std::optional<os::TimePoint> Supervisor::NextDeadline() const {
  std::optional<os::TimePoint> next = kill_deadline_;
  for (const Pool& p : pools_) {
    for (const Slot& s : p.slots) {
      if (s.restart_at && (!next || *s.restart_at < *next)) next = s.restart_at;
    }
  }
  return next;
}

void Supervisor::HandleSignals() {
  for (const os::SignalInfo& sig : signals_->Read()) {
    switch (sig.signo) {
      case SIGCHLD: ReapChildren(); break;
      case SIGTERM: BeginStop(StopMode::kFast, "SIGTERM"); break;
      case SIGINT: BeginStop(StopMode::kFast, "SIGINT"); break;
      case SIGQUIT: BeginStop(StopMode::kGraceful, "SIGQUIT"); break;
      case SIGUSR1:
        log::Notice("reopening log files (SIGUSR1)");
        if (Status st = log::Reopen(); !st.ok()) log::Error("{}", st.message());
        for (auto& [pid, w] : workers_) (void)os::Kill(pid, SIGUSR1);
        break;
      default:
        log::Notice("ignoring signal {}", sig.signo);
        break;
    }
  }
}

void Supervisor::ReapChildren() {
  for (const os::ExitInfo& info : os::ReapChildren()) {
    auto it = workers_.find(info.pid);
    if (it == workers_.end()) continue;
    std::unique_ptr<Worker> w = std::move(it->second);
    workers_.erase(it);
    HandleOutput(info.pid, true);  // whatever it printed last
    const os::TimePoint now = clock_->Now();
    const bool expected = w->state == Worker::State::kStopping || stop_mode_ != StopMode::kNone;
    const bool clean = !info.signaled && info.code == 0;
    const std::string how = fmt::format("[pool {}] child {} {} after {:.3f} seconds from start", w->pool,
                                        info.pid, info.Describe(), Seconds(w->started_at, now));
    if (expected || clean) log::Notice("{}", how); else log::Warning("{}", how);
    poller_->Remove(w->notify.get());
    if (w->output) poller_->Remove(w->output.get());
    Pool* pool = FindPool(w->pool);
    if (pool != nullptr && w->board) {
      scoreboard::Segment seg(w->board->data(), w->board->size());
      if (seg.Valid()) {
        pool->retired_slow += seg.header()->slow_requests.load(std::memory_order_relaxed);
        pool->retired_terminated += seg.header()->terminated_requests.load(std::memory_order_relaxed);
      }
    }
    if (pool == nullptr || stop_mode_ != StopMode::kNone) continue;
    Slot& slot = pool->slots[static_cast<size_t>(w->slot)];
    if (slot.pid != info.pid) continue;
    slot.pid = 0;
    if (!ready_reported_ && w->state == Worker::State::kStarting) {
      // The first generation could not start: do not loop, report and stop.
      const Status failed = Status::IoError("[pool " + w->pool + "] child " + std::to_string(info.pid) + " " +
                                            info.Describe() + " before it was ready");
      log::Alert("{}", failed.message());
      ready_reported_ = true;
      if (options_.on_ready) options_.on_ready(failed);
      exit_code_ = 1;
      BeginStop(StopMode::kFast, "startup failed");
      continue;
    }
    const auto delay = slot.restart.OnExit(w->started_at, now);
    if (delay.count() > 0) {
      log::Warning("[pool {}] restarting slot {} in {} ms ({} quick failures in a row)", w->pool, w->slot,
                   delay.count(), slot.restart.consecutive_failures());
    }
    slot.restart_at = now + delay;
  }
}

void Supervisor::StartDueRestarts() {
  if (stop_mode_ != StopMode::kNone) return;
  const os::TimePoint now = clock_->Now();
  for (Pool& pool : pools_) {
    for (int i = 0; i < static_cast<int>(pool.slots.size()); ++i) {
      Slot& s = pool.slots[static_cast<size_t>(i)];
      if (!s.restart_at || *s.restart_at > now) continue;
      s.restart_at.reset();
      if (Status st = SpawnWorker(pool, i); !st.ok()) {
        log::Error("{}", st.message());
        s.restart_at = now + s.restart.OnExit(now, now);
      }
    }
  }
}

void Supervisor::HandleNotify(pid_t pid) {
  auto it = workers_.find(pid);
  if (it == workers_.end()) return;
  Worker& w = *it->second;
  char buf[256];
  for (;;) {
    ssize_t n = ::read(w.notify.get(), buf, sizeof(buf));
    if (n > 0) {
      if (std::string_view(buf, static_cast<size_t>(n)).find("ready") != std::string_view::npos &&
          w.state == Worker::State::kStarting) {
        w.state = Worker::State::kReady;
        log::Debug("[pool {}] child {} ready", w.pool, pid);
      }
      continue;
    }
    if (n == 0) poller_->Remove(w.notify.get());  // it closed its end; SIGCHLD follows
    break;
  }
  CheckReady();
}

void Supervisor::CheckReady() {
  if (ready_reported_) return;
  for (const auto& [pid, w] : workers_) {
    if (w->state != Worker::State::kReady) return;
  }
  ready_reported_ = true;
  log::Notice("ready to handle connections");
  if (options_.on_ready) options_.on_ready(Status::Ok());
}

// catch_workers_output: each line a worker writes to stdout/stderr is logged
// as php-fpm does ("[pool www] child 12 said into stderr: ...").
void Supervisor::HandleOutput(pid_t pid, bool flush_all) {
  auto it = workers_.find(pid);
  Worker* w = it == workers_.end() ? nullptr : it->second.get();
  if (w == nullptr || !w->output) return;
  const Pool* pool = FindPool(w->pool);
  const bool decorate = pool == nullptr || pool->config.decorate_workers_output;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(w->output.get(), buf, sizeof(buf));
    if (n <= 0) break;
    w->partial_output.append(buf, static_cast<size_t>(n));
  }
  size_t start = 0;
  for (;;) {
    size_t nl = w->partial_output.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(w->partial_output.data() + start, nl - start);
    if (decorate) log::Warning("[pool {}] child {} said into stderr: \"{}\"", w->pool, pid, line);
    else log::Warning("{}", line);
    start = nl + 1;
  }
  w->partial_output.erase(0, start);
  if (flush_all && !w->partial_output.empty()) {
    log::Warning("[pool {}] child {} said into stderr: \"{}\"", w->pool, pid, w->partial_output);
    w->partial_output.clear();
  }
}

void Supervisor::BeginStop(StopMode mode, const char* why) {
  if (stop_mode_ == StopMode::kFast || stop_mode_ == mode) return;
  stop_mode_ = mode;
  const bool graceful = mode == StopMode::kGraceful;
  log::Notice("{}: {} stop", why, graceful ? "graceful" : "fast");
  for (auto& [pid, w] : workers_) {
    w->state = Worker::State::kStopping;
    (void)os::Kill(pid, graceful ? SIGQUIT : SIGTERM);
  }
  const auto timeout = config_.daemon.process_control_timeout;
  if (!graceful) {
    kill_deadline_ = clock_->Now() + kFastStopGrace;
  } else if (timeout.count() > 0) {
    kill_deadline_ = clock_->Now() + timeout + kGracefulExtra;
  }
}

void Supervisor::AcceptControl() {
  for (;;) {
    int fd = ::accept4(control_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    os::UniqueFd client(fd);
    auto cred = os::GetPeerCredentials(fd);
    if (!cred.ok() || (cred->uid != 0 && cred->uid != ::geteuid())) {
      log::Warning("control socket: refused uid {}", cred.ok() ? static_cast<int>(cred->uid) : -1);
      const std::string reply = control::Encode(control::ErrorReply("permission denied"));
      [[maybe_unused]] ssize_t n = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      continue;
    }
    if (!poller_->Add(fd, EPOLLIN | EPOLLRDHUP, Token(kControlClient, static_cast<uint64_t>(fd))).ok()) continue;
    control_clients_[fd] = ControlClient{std::move(client), {}};
  }
}

void Supervisor::HandleControl(int fd) {
  auto it = control_clients_.find(fd);
  if (it == control_clients_.end()) return;
  ControlClient& c = it->second;
  char buf[4096];
  bool closed = false;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      continue;
    }
    closed = n == 0 || errno != EAGAIN;
    break;
  }
  const auto nl = c.in.find('\n');
  if (nl == std::string::npos && !closed && c.in.size() < control::kMaxLine) return;
  control::Json reply;
  if (nl == std::string::npos) {
    reply = control::ErrorReply("request must be one line of JSON");
  } else {
    auto request = control::ParseRequest(std::string_view(c.in).substr(0, nl));
    reply = request.ok() ? Dispatch(*request) : control::ErrorReply(request.status().message());
  }
  const std::string out = control::Encode(reply);
  os::SetNonBlocking(fd, false);
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  poller_->Remove(fd);
  control_clients_.erase(it);
}

control::Json Supervisor::Dispatch(const control::Json& request) {
  const std::string cmd = request.at("cmd").get<std::string>();
  if (cmd == "status") return StatusJson();
  if (cmd == "version") return control::Json{{"ok", true}, {"version", TFPM_VERSION}, {"php", TFPM_PHP_VERSION}};
  if (cmd == "stop") {
    const bool fast = request.value("fast", false);
    BeginStop(fast ? StopMode::kFast : StopMode::kGraceful, "pm-ctl stop");
    return control::Json{{"ok", true}};
  }
  return control::ErrorReply("unknown command '" + cmd + "'");
}

control::Json Supervisor::StatusJson() const {
  using control::Json;
  const os::TimePoint now = clock_->Now();
  const int64_t now_us = scoreboard::RealtimeMicros();
  Json pools = Json::array();
  for (const Pool& pool : pools_) {
    Json procs = Json::array();
    uint64_t busy = 0, idle = 0, served = 0;
    uint64_t slow = pool.retired_slow, terminated = pool.retired_terminated;
    for (const Slot& slot : pool.slots) {
      auto it = workers_.find(slot.pid);
      if (slot.pid == 0 || it == workers_.end()) continue;
      const Worker& w = *it->second;
      Json threads = Json::array();
      scoreboard::Segment seg(w.board->data(), w.board->size());
      if (seg.Valid()) {
        slow += seg.header()->slow_requests.load(std::memory_order_relaxed);
        terminated += seg.header()->terminated_requests.load(std::memory_order_relaxed);
        for (uint32_t t = 0; t < seg.header()->thread_count; ++t) {
          scoreboard::ThreadSnapshot snap;
          if (!scoreboard::ReadSlot(*seg.slot(t), &snap)) continue;
          const bool running = snap.state == scoreboard::ThreadState::kRunning;
          (running ? busy : idle) += 1;
          served += snap.requests;
          Json th = {{"index", t},
                     {"state", std::string(scoreboard::ThreadStateName(snap.state))},
                     {"requests", snap.requests},
                     {"last_status", snap.last_status},
                     {"last_duration_ms", snap.last_duration_us / 1000.0},
                     {"last_memory", snap.last_memory}};
          if (running) {
            // The request may have started after now_us was read.
            th["duration_ms"] = std::max<int64_t>(0, now_us - snap.request_start_us) / 1000.0;
            th["method"] = snap.method;
            th["uri"] = snap.uri;
            th["script"] = snap.script;
          }
          threads.push_back(std::move(th));
        }
      }
      const char* state = w.state == Worker::State::kReady      ? "ready"
                          : w.state == Worker::State::kStarting ? "starting"
                                                                : "stopping";
      procs.push_back(Json{{"pid", w.pid},
                           {"slot", w.slot},
                           {"state", state},
                           {"uptime_s", Seconds(w.started_at, now)},
                           {"threads", std::move(threads)}});
    }
    pools.push_back(Json{{"name", pool.config.name},
                         {"listen", pool.listener->address.ToString()},
                         {"mode", pool.config.mode == config::PoolMode::kWorker ? "worker" : "classic"},
                         {"busy_threads", busy},
                         {"idle_threads", idle},
                         {"requests", served},
                         {"slow_requests", slow},
                         {"terminated_requests", terminated},
                         {"processes", std::move(procs)}});
  }
  return Json{{"ok", true},
              {"pid", ::getpid()},
              {"version", TFPM_VERSION},
              {"php", TFPM_PHP_VERSION},
              {"uptime_s", Seconds(started_at_, now)},
              {"stopping", stop_mode_ != StopMode::kNone},
              {"pools", std::move(pools)}};
}

}  // namespace tfpm::supervisor
