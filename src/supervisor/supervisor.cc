#include "supervisor/supervisor.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "base/clock.h"
#include "base/log.h"
#include "base/utf8.h"
#include "ipc/worker_process.h"
#include "config/load_yaml.h"
#include "scoreboard/scoreboard.h"
#include "tfpm_build_config.h"

namespace tfpm::supervisor {
namespace {

// epoll tokens: kind in the top byte, an fd or pid below.
enum TokenKind : uint64_t {
  kSignal = 1,
  kControlListen = 2,
  kControlClient = 3,
  kNotify = 4,
  kOutput = 5,
  kFailedListen = 6,  // a failed pool's listening socket (fd)
  kUnavailable = 7,   // a connection the supervisor answers 503 (fd)
};
constexpr uint64_t Token(TokenKind kind, uint64_t id) { return (static_cast<uint64_t>(kind) << 56) | id; }
TokenKind KindOf(uint64_t token) { return static_cast<TokenKind>(token >> 56); }
uint64_t IdOf(uint64_t token) { return token & ((1ull << 56) - 1); }

// Descriptor numbers in a worker: ipc/worker_process.h.
namespace wc = ipc;

// A log file a worker is handed (access_log, slowlog, error_log): opened
// here, for appending, created mode 0600 as php-fpm's master does.
Result<os::UniqueFd> OpenLogForWorkers(const std::string& path, const char* what) {
  os::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return ErrnoStatus(std::string(what) + " " + path, errno);
  return fd;
}

constexpr std::chrono::milliseconds kFastStopGrace{2000};
constexpr std::chrono::milliseconds kGracefulExtra{2000};
// How long a new generation may take to become ready before the reload is
// rolled back.
constexpr std::chrono::milliseconds kTransitionTimeout{60000};
// How long a reload's answer waits for the old workers to confirm that they
// stopped accepting.
constexpr std::chrono::milliseconds kDrainAckTimeout{5000};
// How often STATUS= goes to systemd.
constexpr std::chrono::milliseconds kStatusInterval{5000};
// How often pm dynamic/ondemand pools are checked for a process to add or stop.
constexpr std::chrono::milliseconds kScaleInterval{100};
// catch_workers_output: bytes read from one worker per wake-up of the loop,
// and after its exit.
constexpr size_t kMaxOutputPerWake = 64 * 1024;
constexpr size_t kMaxOutputAfterExit = 1024 * 1024;

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

// Each pool's config text (config::PoolConfigText) of `config`, loaded from
// `text`.
Result<std::map<std::string, std::string>> PoolTexts(const config::Config& config, const std::string& text) {
  std::map<std::string, std::string> out;
  for (const auto& pc : config.pools) {
    auto t = config::PoolConfigText(text, config.source, pc.name);
    if (!t.ok()) {
      return Status::InvalidArgument("pool " + pc.name + ": its config for the workers: " + t.status().message());
    }
    out.emplace(pc.name, std::move(t.value()));
  }
  return out;
}

}  // namespace

Supervisor::Listener::~Listener() {
  if (fd && !from_systemd && !stopped && address.kind == os::ListenAddress::Kind::kUnix) (void)os::RemoveSocketFile(address.path);
}

Supervisor::Supervisor(config::Config config, SupervisorOptions options, os::Spawner* spawner,
                       const os::Clock* clock)
    : config_(std::move(config)),
      options_(std::move(options)),
      spawner_(spawner),
      clock_(clock),
      started_at_(clock->Now()),
      emergency_(config_.daemon.emergency_restart_threshold, config_.daemon.emergency_restart_interval) {}

Supervisor::~Supervisor() {
  // Never leave a worker behind, whatever path led here.
  for (auto& [pid, w] : workers_) (void)spawner_->Signal(pid, SIGKILL);
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
  answerer_.emplace(&*poller_, Token(kUnavailable, 0), UnavailableAnswerer::Limits{});

  if (!config_.daemon.pid_file.empty()) {
    MakeParentDir(config_.daemon.pid_file);
    auto pid = os::PidFile::Create(config_.daemon.pid_file);
    if (!pid.ok()) return pid.status();
    pid_file_.emplace(std::move(pid.value()));
  }
  auto texts = PoolTexts(config_, options_.config_text);
  if (!texts.ok()) return texts.status();
  pool_texts_ = std::move(texts.value());
  if (config_.daemon.error_log == "stderr") {
    log_fd_.Reset(::fcntl(2, F_DUPFD_CLOEXEC, 3));
  } else {
    auto fd = OpenLogForWorkers(config_.daemon.error_log, "error_log");
    if (!fd.ok()) return fd.status();
    log_fd_ = std::move(fd.value());
  }

  for (int fd : options_.activated_fds) {
    auto address = os::LocalAddress(fd);
    if (!address.ok()) return Status::IoError("LISTEN_FDS: fd " + std::to_string(fd) + ": " + address.status().message());
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    (void)os::SetNonBlocking(fd, true);
    auto l = std::make_shared<Listener>();
    l->address = *address;
    l->fd.Reset(fd);
    l->from_systemd = true;
    activated_.push_back(std::move(l));
  }
  if (Status st = OpenListeners(); !st.ok()) return st;
  for (const auto& l : activated_) {
    if (l.use_count() == 1) log::Warning("socket {} from systemd is not used by any pool", l->address.ToString());
  }
  if (Status st = OpenControlSocket(); !st.ok()) return st;

  for (Pool& pool : pools_) {
    for (int i = 0; i < InitialProcesses(pool.config); ++i) {
      if (Status st = SpawnWorker(pool, i); !st.ok()) return st;
    }
  }
  if (options_.watchdog.count() > 0) next_watchdog_ = clock_->Now();
  next_scale_ = clock_->Now() + kScaleInterval;
  if (options_.notify) next_status_line_ = clock_->Now() + kStatusInterval;
  log::Notice("tfpm {} started, pid {}, {} pool(s)", TFPM_VERSION, ::getpid(), pools_.size());
  return Status::Ok();
}

// The socket for `pc.listen`: the one already open at that address (kept
// across reloads: same fd), one passed by systemd, or a new one.
Result<std::shared_ptr<Supervisor::Listener>> Supervisor::ListenerFor(const config::PoolConfig& pc,
                                                                       const std::string& source) {
  auto address = os::ParseListenAddress(pc.listen);
  if (!address.ok()) {
    return Status::InvalidArgument(source + ":" + std::to_string(pc.line) + ": pools." + pc.name +
                                   ".listen: " + address.status().message());
  }
  for (const Pool& p : pools_) {
    if (p.listener && p.listener->address == *address) return p.listener;
  }
  for (const auto& [pid, w] : workers_) {
    if (w->listener && w->listener->address == *address) return w->listener;
  }
  for (const auto& l : activated_) {
    if (l->address == *address) return l;
  }
  if (address->kind == os::ListenAddress::Kind::kUnix) MakeParentDir(address->path);
  os::ListenOptions lo;
  lo.backlog = pc.listen_backlog;
  lo.mode = pc.listen_mode;
  lo.owner = pc.listen_owner;
  lo.group = pc.listen_group;
  lo.acl_users = pc.listen_acl_users;
  lo.acl_groups = pc.listen_acl_groups;
  auto fd = os::Listen(*address, lo);
  if (!fd.ok()) return Status::IoError("pool " + pc.name + ": " + fd.status().message());
  auto listener = std::make_shared<Listener>();
  listener->address = *address;
  listener->fd = std::move(fd.value());
  return listener;
}

Status Supervisor::OpenListeners() {
  for (const auto& pc : config_.pools) {
    auto listener = ListenerFor(pc, config_.source);
    if (!listener.ok()) return listener.status();
    Pool pool;
    pool.config = pc;
    pool.listener = std::move(listener.value());
    pool.generation = generation_;
    pool.counters = CountersFor(pc.name);
    InitPool(pool);
    static constexpr const char* kPm[] = {"static", "dynamic", "ondemand"};
    log::Notice("pool {}: listening on {}{}, pm {}, {} {} process(es) x {} thread(s)", pc.name,
                pool.listener->address.ToString(), pool.listener->from_systemd ? " (from systemd)" : "",
                kPm[static_cast<int>(pc.pm)], pc.pm == config::ProcessManager::kStatic ? "" : "at most",
                pc.processes, pc.threads);
    pools_.push_back(std::move(pool));
  }
  return Status::Ok();
}

Status Supervisor::OpenControlSocket() {
  const auto& d = config_.daemon;
  const std::string& path = d.control_socket;
  if (path.empty()) return Status::Ok();
  control_uid_ = ::geteuid();
  if (!d.control_socket_owner.empty()) {
    auto uid = os::UserId(d.control_socket_owner);
    if (!uid.ok()) return Status::InvalidArgument("control_socket_owner: " + uid.status().message());
    control_uid_ = *uid;
  }
  if (!d.control_socket_group.empty()) {
    auto gid = os::GroupId(d.control_socket_group);
    if (!gid.ok()) return Status::InvalidArgument("control_socket_group: " + gid.status().message());
    control_gid_ = *gid;
  }
  MakeParentDir(path);
  os::ListenOptions lo;
  lo.mode = d.control_socket_mode;
  lo.owner = d.control_socket_owner;
  lo.group = d.control_socket_group;
  lo.backlog = 64;
  auto fd = os::Listen(os::ListenAddress{os::ListenAddress::Kind::kUnix, path, "", 0}, lo);
  if (!fd.ok()) return Status::IoError("control_socket: " + fd.status().message());
  control_fd_ = std::move(fd.value());
  return poller_->Add(control_fd_.get(), EPOLLIN, Token(kControlListen, 0));
}

bool Supervisor::ProcessMaxReached() const {
  const int max = config_.daemon.process_max;
  return max > 0 && workers_.size() >= static_cast<size_t>(max);
}

Status Supervisor::SpawnWorker(Pool& pool, int slot_index) {
  if (ProcessMaxReached()) {
    return Status::Aborted("pool " + pool.config.name + ": process_max (" +
                           std::to_string(config_.daemon.process_max) + ") worker processes are running");
  }
  // The pool's own config bytes (docs/security.md "Trust boundaries").
  const auto text = pool_texts_.find(pool.config.name);
  if (text == pool_texts_.end()) return Status::InvalidArgument("pool " + pool.config.name + ": no config text");
  auto config_fd = os::MemfdWithContents("tfpm-config", text->second);
  if (!config_fd.ok()) return Status::IoError("pool " + pool.config.name + ": " + config_fd.status().message());
  auto w = std::make_unique<Worker>();
  w->pool = pool.config.name;
  w->slot = slot_index;
  w->generation = pool.generation;
  w->listener = pool.listener;
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

  WorkerFds fds;
  fds.config = config_fd->get();
  fds.notify = child_notify.get();
  fds.scoreboard = w->board->fd();
  fds.listen = pool.listener->fd.get();
  const bool startup_reported = pool.startup_reported;
  pool.startup_reported = true;
  if (log_fd_) {
    fds.log = log_fd_.get();
    fds.log_is_file = config_.daemon.error_log != "stderr";
  }
  HeldFds held;
  if (Status st = OpenWorkerFiles(pool.config, *w, &held, &fds); !st.ok()) return st;
  const os::SpawnSpec spec =
      PlanWorkerSpawn(options_.worker_executable, pool.config, config_.source, startup_reported, fds);
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
  log::Notice("[pool {}] child {} started (generation {})", pool.config.name, w->pid, w->generation);
  workers_.emplace(w->pid, std::move(w));
  return Status::Ok();
}

Status Supervisor::OpenWorkerFiles(const config::PoolConfig& pc, Worker& w, HeldFds* held, WorkerFds* fds) {
  // The pool's log files: opened here, so a worker that switched to the
  // pool's user can still write them.
  if (HandsAccessLog(pc)) {
    auto fd = OpenLogForWorkers(pc.access_log, "access_log");
    if (!fd.ok()) return Status::IoError("pool " + pc.name + ": " + fd.status().message());
    held->access_log = std::move(fd.value());
    fds->access_log = held->access_log.get();
    w.access_log = pc.access_log;
  }
  if (HandsSlowlog(pc)) {
    auto fd = OpenLogForWorkers(pc.slowlog, "slowlog");
    if (!fd.ok()) return Status::IoError("pool " + pc.name + ": " + fd.status().message());
    held->slowlog = std::move(fd.value());
    fds->slowlog = held->slowlog.get();
    w.slowlog = pc.slowlog;
  }
  if (pc.catch_workers_output) {
    // Our end never blocks the loop; the worker's end blocks, as php-fpm's:
    // a write larger than the pipe waits for us to read instead of failing
    // with EAGAIN (the output was lost). We read on every wake-up.
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
    w.output.Reset(p[0]);
    held->output_write.Reset(p[1]);
    if (Status st = os::SetNonBlocking(p[0], true); !st.ok()) return st;
    fds->output = held->output_write.get();
  }
  return Status::Ok();
}

void Supervisor::InitPool(Pool& pool) {
  const config::PoolConfig& pc = pool.config;
  RestartPolicy::Limits restart;
  restart.stable_after = pc.failure_window;
  pool.slots.assign(static_cast<size_t>(pc.processes), Slot{0, RestartPolicy(restart), std::nullopt});
  pool.health = PoolHealth(PoolHealth::Limits{pc.failure_threshold, pc.failure_window});
}

Supervisor::Pool* Supervisor::FindPool(const std::string& name) {
  for (Pool& p : pools_) {
    if (p.config.name == name) return &p;
  }
  return nullptr;
}

int Supervisor::Run() {
  while (RunOnce()) {
  }
  log::Notice("exiting, bye-bye!");
  return exit_code_;
}

bool Supervisor::RunOnce(std::optional<std::chrono::milliseconds> max_wait) {
  static_assert(Token(kFailedListen, 0) == kFailedListenToken);
  if (stop_mode_ != StopMode::kNone && workers_.empty()) return false;
  std::chrono::milliseconds timeout(-1);
  if (auto deadline = NextDeadline()) {
    timeout = std::max(std::chrono::milliseconds(0),
                       std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - clock_->Now()) +
                           std::chrono::milliseconds(1));
  }
  if (max_wait && (timeout.count() < 0 || *max_wait < timeout)) timeout = *max_wait;
  epoll_event events[32];
  const int n = poller_->Wait(events, timeout);
  for (int i = 0; i < n; ++i) {
    const uint64_t token = events[i].data.u64;
    // One event's handler failing must not end the loop: every worker
    // depends on it (PR_SET_PDEATHSIG).
    try {
      switch (KindOf(token)) {
        case kSignal: HandleSignals(); break;
        case kControlListen: AcceptControl(); break;
        case kControlClient: HandleControl(static_cast<int>(IdOf(token))); break;
        case kNotify: HandleNotify(static_cast<pid_t>(IdOf(token))); break;
        case kOutput: HandleOutput(static_cast<pid_t>(IdOf(token))); break;
        case kFailedListen: AnswerUnavailable(static_cast<int>(IdOf(token))); break;
        case kUnavailable: answerer_->OnEvent(static_cast<int>(IdOf(token))); break;
      }
    } catch (const std::exception& e) {
      Survived("an event", e);
    }
  }
  try {
    RunTimers();
  } catch (const std::exception& e) {
    Survived("the timers", e);
  }
  return true;
}

void Supervisor::Survived(std::string_view where, const std::exception& e) {
  ++internal_errors_;
  uint64_t held = 0;
  if (!internal_error_log_.Allow(&held)) return;
  log::Error("internal error while handling {} (carrying on): {}{}", where, base::EscapeForLog(e.what()),
             held > 0 ? fmt::format(" ({} more since the last such line)", held) : std::string());
}

void Supervisor::RunTimers() {
  ExpireControlClients();
  StartDueRestarts();
  CheckReady();
  CheckTransition();
  UpdatePoolHealth();
  CheckDrainWaits();
  CheckRecycles();
  StopListeningWhenDrained();
  const os::TimePoint now = clock_->Now();
  if (kill_deadline_ && now >= *kill_deadline_) {
    for (auto& [pid, w] : workers_) {
      log::Warning("[pool {}] child {} still running; sending SIGKILL", w->pool, pid);
      (void)spawner_->Signal(pid, SIGKILL);
    }
    kill_deadline_.reset();
  }
  for (auto& [pid, w] : workers_) {
    if (w->kill_at && now >= *w->kill_at) {
      log::Warning("[pool {}] child {} still draining after process_control_timeout; sending SIGKILL", w->pool,
                   pid);
      (void)spawner_->Signal(pid, SIGKILL);
      w->kill_at.reset();
    }
  }
  if (next_watchdog_ && now >= *next_watchdog_) {
    Notify("WATCHDOG=1");
    next_watchdog_ = now + std::chrono::duration_cast<std::chrono::milliseconds>(options_.watchdog / 2);
  }
  if (next_status_line_ && now >= *next_status_line_) SendStatusLine();
  if (now >= next_sample_) SamplePools();
  if (next_scale_ && now >= *next_scale_) {
    ScalePools();
    next_scale_ = now + kScaleInterval;
  }
}

std::optional<os::TimePoint> Supervisor::NextDeadline() const {
  std::optional<os::TimePoint> next = kill_deadline_;
  auto consider = [&next](const std::optional<os::TimePoint>& t) {
    if (t && (!next || *t < *next)) next = t;
  };
  for (const Pool& p : pools_) {
    for (const Slot& s : p.slots) consider(s.restart_at);
  }
  for (const auto& [pid, w] : workers_) consider(w->kill_at);
  for (const DrainWait& d : drain_waits_) consider(d.deadline);
  for (const auto& [fd, c] : control_clients_) consider(c.deadline);
  if (transition_) consider(transition_->deadline);
  // A new generation's probation ends (CheckReady, CheckTransition).
  if (!ready_reported_ || transition_) {
    for (const auto& [pid, w] : workers_) {
      if (w->ready_at && *w->ready_at + config_.daemon.startup_probation > clock_->Now()) {
        consider(*w->ready_at + config_.daemon.startup_probation);
      }
    }
  }
  for (const Pool& p : pools_) consider(p.health.NextCheck(OldestReady(p)));
  if (answerer_) consider(answerer_->NextDeadline());
  for (const Pool& p : pools_) {
    if (p.answers_unlogged > 0) consider(p.answers_logged_at + kAnswerLogInterval);
  }
  consider(next_watchdog_);
  if (stop_mode_ == StopMode::kNone) consider(next_status_line_);
  if (stop_mode_ == StopMode::kNone) consider(next_sample_);
  if (stop_mode_ == StopMode::kNone && next_scale_) {
    for (const Pool& p : pools_) {
      if (p.config.pm != config::ProcessManager::kStatic) consider(next_scale_);
    }
  }
  return next;
}

void Supervisor::Notify(std::string_view message) {
  if (options_.notify) options_.notify(message);
}

// STATUS= for systemd: what `systemctl status tfpm` shows.
void Supervisor::SendStatusLine() {
  const os::TimePoint now = clock_->Now();
  uint64_t busy = 0, idle = 0, served = 0;
  for (const auto& [pid, w] : workers_) (void)ProcessJson(*w, &busy, &idle, &served);
  const double elapsed = last_status_at_ == os::TimePoint{} ? 0 : Seconds(last_status_at_, now);
  const double rate = elapsed > 0 && served >= last_served_total_ ? (served - last_served_total_) / elapsed : 0;
  last_served_total_ = served;
  last_status_at_ = now;
  std::string failed;
  for (const Pool& p : pools_) {
    if (p.health.failed()) failed += "; pool " + p.config.name + " FAILED";
  }
  Notify(fmt::format("STATUS=generation {}: {} busy, {} idle threads; {:.1f} req/s{}{}", generation_, busy, idle,
                     rate, transition_ ? "; reloading" : "", failed));
  next_status_line_ = now + kStatusInterval;
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
        if (Status st = ReopenLogs(); !st.ok()) log::Error("{}", st.message());
        break;
      case SIGUSR2:
        if (OnTransitionRequest(TransitionRequest::kSignal, transition_.has_value(),
                                stop_mode_ != StopMode::kNone) == RequestAction::kQueue) {
          log::Notice("SIGUSR2: reload queued after the {} in progress", transition_->what);
          reload_queued_ = true;
        } else {
          (void)Reload("SIGUSR2", nullptr);
        }
        break;
      default:
        log::Notice("ignoring signal {}", sig.signo);
        break;
    }
  }
}

namespace {

// "GET /a?x=1, POST /b" from a dead worker's scoreboard: the requests that
// were in flight on it (they failed with it).
std::string InFlight(os::SharedMemory* board) {
  if (board == nullptr) return "";
  scoreboard::Segment seg(board->data(), board->size());
  if (!seg.Valid()) return "";
  std::string out;
  for (uint32_t t = 0, n = seg.Threads(); t < n; ++t) {
    scoreboard::ThreadSnapshot snap;
    if (!scoreboard::ReadSlot(*seg.slot(t), &snap)) continue;
    if (scoreboard::Classify(snap.state) != scoreboard::ThreadClass::kActive) continue;
    if (snap.uri.empty() && snap.method.empty()) continue;
    if (!out.empty()) out += ", ";
    out += snap.method + " " + snap.uri;
  }
  return out;
}

}  // namespace

void Supervisor::ReapChildren() {
  for (const os::ExitInfo& info : spawner_->Reap()) {
    if (workers_.count(info.pid) == 0) continue;
    // Kept connections it handed over just before exiting are still in its
    // socketpair: pass them on before the socket is closed.
    HandleNotify(info.pid);
    auto it = workers_.find(info.pid);
    if (it == workers_.end()) continue;
    std::unique_ptr<Worker> w = std::move(it->second);
    workers_.erase(it);
    OnWorkerExited(*w, info);
  }
}

void Supervisor::LogWorkerExit(Worker& w, const os::ExitInfo& info, os::TimePoint now) {
  ReadOutput(w, true);  // whatever it printed last
  const bool expected = w.state == Worker::State::kStopping || stop_mode_ != StopMode::kNone;
  const bool clean = !info.signaled && info.code == 0;
  std::string how = fmt::format("[pool {}] child {} {} after {:.3f} seconds from start", w.pool, info.pid,
                                info.Describe(), Seconds(w.started_at, now));
  if (expected || clean) {
    log::Notice("{}", how);
  } else {
    const std::string in_flight = InFlight(w.board ? &*w.board : nullptr);
    log::Warning("{}; {}", how, in_flight.empty() ? "no request in flight" : "requests in flight: " + in_flight);
  }
  poller_->Remove(w.notify.get());
  if (w.output) poller_->Remove(w.output.get());
  if (info.signaled && (info.code == SIGSEGV || info.code == SIGBUS) && stop_mode_ == StopMode::kNone &&
      emergency_.OnCrash(now)) {
    log::Alert("{} children exited on SIGSEGV or SIGBUS within {} ms: emergency restart of every pool",
               config_.daemon.emergency_restart_threshold, config_.daemon.emergency_restart_interval.count());
    if (OnTransitionRequest(TransitionRequest::kEmergency, transition_.has_value(), false) ==
        RequestAction::kBegin) {
      config::Config same = config_;
      (void)BeginTransition(std::move(same), options_.config_text, "", "emergency restart", nullptr);
    }
  }
}

void Supervisor::OnWorkerExited(Worker& w, const os::ExitInfo& info) {
  const os::TimePoint now = clock_->Now();
  LogWorkerExit(w, info, now);
  const bool clean = !info.signaled && info.code == 0;
  // Before or during its probation: how long after "ready" it died.
  const std::string when =
      w.ready_at ? fmt::format("{:.3f} s after it was ready (startup_probation {} ms)", Seconds(*w.ready_at, now),
                               config_.daemon.startup_probation.count())
                 : "before it was ready";
  const std::string failure =
      "[pool " + w.pool + "] child " + std::to_string(info.pid) + " " + info.Describe() + " " + when;
  Pool* pool = FindPool(w.pool);
  // The pool of that name may have fewer slots now (a reload lowered
  // `processes`): then no slot is this worker's.
  Slot* slot = pool != nullptr && static_cast<size_t>(w.slot) < pool->slots.size()
                   ? &pool->slots[static_cast<size_t>(w.slot)]
                   : nullptr;
  WorkerExit e;
  e.phase = w.state;
  e.clean = clean;
  e.of_new_generation = transition_ && w.generation == transition_->generation;
  e.first_accepted = ready_reported_;
  e.stopping = stop_mode_ != StopMode::kNone;
  e.holds_slot = slot != nullptr && slot->pid == info.pid;
  const ExitAction action = OnWorkerExit(e);
  if (action == ExitAction::kRollBack) return RollBackTransition(failure);
  if (pool != nullptr && w.board) {
    scoreboard::Segment seg(w.board->data(), w.board->size());
    if (seg.Valid()) pool->counters->Retire(seg);
  }
  if (action == ExitAction::kForget) return;
  slot->pid = 0;
  switch (action) {
    case ExitAction::kFailStart: {
      const Status failed = Status::IoError(failure);
      log::Alert("{}", failed.message());
      ready_reported_ = true;
      if (options_.on_ready) options_.on_ready(failed);
      exit_code_ = 1;
      BeginStop(StopMode::kFast, "startup failed");
      return;
    }
    case ExitAction::kRestart: {
      const auto delay = slot->restart.OnExit(w.ready_at.value_or(now), now);
      if (delay.count() > 0) {
        log::Warning("[pool {}] restarting slot {} in {} ms ({} quick failures in a row)", w.pool, w.slot,
                     delay.count(), slot->restart.consecutive_failures());
      }
      slot->restart_at = now + delay;
      if (!clean) OnWorkerFailure(*pool, w, info.Describe(), now);
      return;
    }
    case ExitAction::kFreeSlot:  // drained by ScalePools (the pool did not need it): not replaced
    case ExitAction::kForget:
    case ExitAction::kRollBack:
      return;
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

void Supervisor::ScalePools() {
  if (stop_mode_ != StopMode::kNone || transition_) return;
  const os::TimePoint now = clock_->Now();
  for (Pool& pool : pools_) {
    const config::PoolConfig& pc = pool.config;
    if (pc.pm == config::ProcessManager::kStatic) continue;
    ScaleObservation seen;
    seen.now = now;
    seen.surplus_since = pool.surplus_since;
    for (int i = 0; i < static_cast<int>(pool.slots.size()); ++i) {
      const Slot& s = pool.slots[static_cast<size_t>(i)];
      auto it = s.pid != 0 ? workers_.find(s.pid) : workers_.end();
      if (it == workers_.end()) {
        if (s.restart_at) seen.starting = true;
        else if (!seen.free_slot) seen.free_slot = i;
        continue;
      }
      const Worker& w = *it->second;
      if (w.state == Worker::State::kStarting) seen.starting = true;
      if (w.state == Worker::State::kReady && w.board) {
        seen.serving.push_back({i, w.started_at, CountProcessThreads(w.board->data(), w.board->size())});
      }
    }
    seen.process_max_reached = ProcessMaxReached();
    const ScaleDecision d = DecideScaling(pc, seen);
    pool.surplus_since = d.surplus_since;
    ExecuteScaling(pool, d, seen.serving.size());
  }
}

void Supervisor::ExecuteScaling(Pool& pool, const ScaleDecision& d, size_t serving) {
  const config::PoolConfig& pc = pool.config;
  switch (d.action) {
    case ScaleDecision::Action::kNothing:
      return;
    case ScaleDecision::Action::kProcessMaxReached:
      if (!process_max_warned_) {
        log::Warning("[pool {}] process_max ({}) reached: not starting another process", pc.name,
                     config_.daemon.process_max);
        process_max_warned_ = true;
      }
      return;
    case ScaleDecision::Action::kStart:
      process_max_warned_ = false;
      log::Notice("[pool {}] all {} process(es) have {} busy threads: starting another", pc.name, serving,
                  pc.threads);
      if (Status st = SpawnWorker(pool, d.slot); !st.ok()) log::Error("{}", st.message());
      return;
    case ScaleDecision::Action::kStop: {
      auto it = workers_.find(pool.slots[static_cast<size_t>(d.slot)].pid);
      if (it == workers_.end()) return;
      log::Notice("[pool {}] child {} not needed for {} ms ({} busy threads): stopping it", pc.name, it->first,
                  pc.idle_timeout.count(), d.busy);
      DrainWorker(*it->second);
      return;
    }
  }
}

void Supervisor::HandleNotify(pid_t pid) {
  auto it = workers_.find(pid);
  if (it == workers_.end()) return;
  Worker& w = *it->second;
  for (;;) {
    std::string data;
    std::vector<os::UniqueFd> fds;
    const ssize_t n = os::ReceiveWithFds(w.notify.get(), &data, &fds);
    if (n > 0) {
      // Text lines and descriptor tags: ipc/notify.h.
      const ipc::Received got = ipc::SplitReceived(data, !fds.empty());
      for (const Result<ipc::Message>& m : w.notify_lines.Feed(got.text)) {
        if (!m.ok()) {
          if (uint64_t held = 0; notify_log_.Allow(&held)) {
            log::Warning("[pool {}] child {}: {} ({} more not logged)", w.pool, pid, m.status().message(), held);
          }
          continue;
        }
        switch (m.value()) {
          case ipc::Message::kReady:
            if (w.state != Worker::State::kStarting) break;
            w.state = Worker::State::kReady;
            w.ready_at = clock_->Now();
            log::Debug("[pool {}] child {} ready", w.pool, pid);
            break;
          case ipc::Message::kDraining: w.drain_acked = true; break;
          case ipc::Message::kRecycleMaxRequests:
          case ipc::Message::kRecycleMemory: RequestRecycle(w, ipc::RecycleCauseName(m.value())); break;
        }
      }
      // A status query (reply socket), otherwise a connection.
      const char tag = got.tag.value_or(wc::kTagConnection);
      for (os::UniqueFd& fd : fds) {
        if (tag == wc::kTagStatus || tag == wc::kTagStatusFull) {
          AnswerPoolStatus(w.pool, std::move(fd), tag == wc::kTagStatusFull);
        } else {
          HandOver(w, std::move(fd));
        }
      }
      continue;
    }
    if (n == 0) poller_->Remove(w.notify.get());  // it closed its end; SIGCHLD follows
    break;
  }
  CheckReady();
  CheckTransition();
  CheckDrainWaits();
  CheckRecycles();
}

void Supervisor::RequestRecycle(Worker& w, std::string_view cause) {
  const auto& causes = wc::kRecycleCauses;
  Pool* pool = FindPool(w.pool);
  RecycleRequest r;
  r.known_cause = std::find(std::begin(causes), std::end(causes), cause) != std::end(causes);
  r.being_replaced = !w.recycle_cause.empty();
  r.phase = w.state;
  r.stopping = stop_mode_ != StopMode::kNone;
  r.transition_or_start = transition_.has_value() || !ready_reported_;
  r.holds_current_slot = pool != nullptr && pool->generation == w.generation &&
                         w.slot < static_cast<int>(pool->slots.size()) &&
                         pool->slots[static_cast<size_t>(w.slot)].pid == w.pid;
  for (const auto& [pid, other] : workers_) {
    if (other->pool == w.pool && !other->recycle_cause.empty() && other->state != Worker::State::kStopping) {
      r.pool_busy = true;
    }
  }
  switch (DecideRecycle(r)) {
    case RecycleAction::kRefuse:
      if (uint64_t held = 0; recycle_log_.Allow(&held)) {
        log::Warning("[pool {}] child {} asked to be recycled for an unknown cause ({} bytes); ignored", w.pool,
                     w.pid, cause.size());
      }
      return;
    case RecycleAction::kIgnore:
      return;
    case RecycleAction::kDefer:
      w.recycle_deferred = std::string(cause);
      return;
    case RecycleAction::kReplace:
      break;
  }
  w.recycle_deferred.clear();
  w.recycle_cause = std::string(cause);
  Slot& slot = pool->slots[static_cast<size_t>(w.slot)];
  if (Status st = SpawnWorker(*pool, w.slot); !st.ok()) {
    w.recycle_cause.clear();
    slot.pid = w.pid;
    w.recycle_deferred = std::string(cause);
    if (uint64_t held = 0; recycle_log_.Allow(&held)) {
      log::Warning("[pool {}] child {} asked to be recycled ({}), but no replacement could start: {}; it keeps "
                   "serving and asks again",
                   w.pool, w.pid, cause, st.message());
    }
    return;
  }
  log::Debug("[pool {}] child {} asked to be recycled ({}): child {} starts to replace it", w.pool, w.pid, cause,
             slot.pid);
}

void Supervisor::CheckRecycles() {
  CompleteRecycles();
  // The next one whose turn it is (RequestRecycle keeps the one-at-a-time
  // rule). Collected first: RequestRecycle adds a worker to workers_.
  std::vector<Worker*> waiting;
  for (auto& [pid, wp] : workers_) {
    if (!wp->recycle_deferred.empty() && wp->recycle_cause.empty()) waiting.push_back(wp.get());
  }
  std::sort(waiting.begin(), waiting.end(), [](const Worker* a, const Worker* b) { return a->started_at < b->started_at; });
  for (Worker* w : waiting) {
    const std::string cause = w->recycle_deferred;
    RequestRecycle(*w, cause);
  }
}

void Supervisor::CompleteRecycles() {
  for (auto& [pid, wp] : workers_) {
    Worker& w = *wp;
    if (w.recycle_cause.empty() || w.state == Worker::State::kStopping) continue;
    Pool* pool = FindPool(w.pool);
    const Worker* replacement = nullptr;
    const bool in_its_slot =
        pool != nullptr && pool->generation == w.generation && w.slot < static_cast<int>(pool->slots.size());
    if (in_its_slot) {
      const pid_t r = pool->slots[static_cast<size_t>(w.slot)].pid;
      auto it = r != 0 && r != w.pid ? workers_.find(r) : workers_.end();
      if (it != workers_.end() && it->second->state == Worker::State::kReady) replacement = it->second.get();
    }
    if (OnRecycleProgress(in_its_slot, replacement != nullptr, transition_.has_value()) == RecycleStep::kWait) {
      continue;  // not ready yet, or a reload's new generation replaces it when ready
    }
    uint64_t served = 0;
    if (w.board) {
      scoreboard::Segment seg(w.board->data(), w.board->size());
      if (seg.Valid()) {
        for (uint32_t t = 0, n = seg.Threads(); t < n; ++t) {
          scoreboard::ThreadSnapshot snap;
          if (scoreboard::ReadSlot(*seg.slot(t), &snap)) served += snap.requests;
        }
      }
    }
    if (pool != nullptr) {
      ++(w.recycle_cause == "memory" ? pool->counters->recycles_memory : pool->counters->recycles_max_requests);
    }
    if (replacement != nullptr) {
      log::Notice("[pool {}] child {} recycled ({}) after {} requests and {:.3f} seconds: child {} replaces it",
                  w.pool, w.pid, w.recycle_cause, served, Seconds(w.started_at, clock_->Now()), replacement->pid);
    } else {
      log::Notice("[pool {}] child {} recycled ({}) after {} requests: a new generation replaced it", w.pool, w.pid,
                  w.recycle_cause, served);
    }
    DrainWorker(w);
  }
}

void Supervisor::CheckDrainWaits() {
  const os::TimePoint now = clock_->Now();
  for (auto it = drain_waits_.begin(); it != drain_waits_.end();) {
    std::erase_if(it->pids, [this](pid_t pid) {
      auto w = workers_.find(pid);
      return w == workers_.end() || w->second->drain_acked;
    });
    if (!DrainWaitDone(it->pids.size(), it->deadline, now)) {
      ++it;
      continue;
    }
    for (os::UniqueFd& fd : it->clients) Reply(fd, it->reply);
    it = drain_waits_.erase(it);
  }
}

// A draining worker handed over a kept connection (with no request on it):
// pass it to a ready worker that serves the same socket, of the newest
// generation that has one (during a reload the newest ready one is still the
// previous generation), round robin. Without one it is closed.
void Supervisor::HandOver(const Worker& from, os::UniqueFd conn) {
  if (stop_mode_ != StopMode::kNone) return;
  std::vector<const Worker*> candidates;
  for (const auto& [pid, w] : workers_) {
    if (w->state != Worker::State::kReady || w->listener != from.listener || pid == from.pid) continue;
    if (!candidates.empty() && candidates.front()->generation < w->generation) candidates.clear();
    if (candidates.empty() || candidates.front()->generation == w->generation) candidates.push_back(w.get());
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Worker* to = candidates[(next_handover_ + i) % candidates.size()];
    if (os::SendFd(to->notify.get(), conn.get(), wc::kTagConnection)) {
      next_handover_ += i + 1;
      ++connections_handed_over_;
      return;
    }
  }
  log::Warning("[pool {}] no ready worker to take over a kept connection; closing it", from.pool);
}

Status Supervisor::ReopenLogs() {
  Status first = log::Reopen();
  auto keep = [&first](const Status& st) {
    if (!st.ok()) log::Error("{}", st.message());
    if (first.ok() && !st.ok()) first = st;
  };
  // The workers' error log: the same descriptor number here gets the new
  // file (workers started from now on inherit it), and each worker gets it.
  const bool error_file = config_.daemon.error_log != "stderr" && log_fd_;
  if (error_file) {
    auto fd = OpenLogForWorkers(config_.daemon.error_log, "error_log");
    if (fd.ok()) {
      if (::dup3(fd->get(), log_fd_.get(), O_CLOEXEC) < 0) keep(ErrnoStatus("error_log: dup3", errno));
    } else {
      keep(fd.status());
    }
  }
  // One open per file: every worker of the pool writes to the same file.
  std::map<std::string, os::UniqueFd> opened;
  auto file = [&](const std::string& path, const char* what) -> int {
    auto it = opened.find(path);
    if (it == opened.end()) {
      auto fd = OpenLogForWorkers(path, what);
      if (!fd.ok()) keep(fd.status());
      it = opened.emplace(path, fd.ok() ? std::move(fd.value()) : os::UniqueFd()).first;
    }
    return it->second.get();
  };
  for (auto& [pid, worker] : workers_) {
    const Worker& w = *worker;
    auto send = [&w](int fd, char tag, const char* what) {
      if (fd >= 0 && !os::SendFd(w.notify.get(), fd, tag)) {
        log::Warning("[pool {}] child {}: could not hand over the reopened {}", w.pool, w.pid, what);
      }
    };
    if (error_file) send(log_fd_.get(), wc::kTagErrorLog, "error_log");
    if (!w.access_log.empty()) send(file(w.access_log, "access_log"), wc::kTagAccessLog, "access_log");
    if (!w.slowlog.empty()) send(file(w.slowlog, "slowlog"), wc::kTagSlowlog, "slowlog");
  }
  return first;
}

// The first generation is accepted once every worker has been ready for
// startup_probation (pool_health.h).
void Supervisor::CheckReady() {
  if (ready_reported_ || stop_mode_ != StopMode::kNone) return;
  std::vector<std::optional<os::TimePoint>> ready;
  for (const auto& [pid, w] : workers_) {
    if (w->state == Worker::State::kStopping) continue;  // pm dynamic: drained, not needed
    ready.push_back(w->state == Worker::State::kReady ? w->ready_at : std::nullopt);
  }
  if (!CheckProbation(ready, config_.daemon.startup_probation, clock_->Now()).passed) return;
  ready_reported_ = true;
  log::Notice("ready to handle connections");
  if (options_.on_ready) options_.on_ready(Status::Ok());
  if (options_.notify) SendStatusLine();
}

// catch_workers_output: each line a worker writes to stdout/stderr is logged
// as php-fpm does ("[pool www] child 12 said into stderr: ...").
void Supervisor::HandleOutput(pid_t pid) {
  auto it = workers_.find(pid);
  if (it != workers_.end()) ReadOutput(*it->second, false);
}

void Supervisor::ReadOutput(Worker& w, bool exited) {
  if (!w.output) return;
  const Pool* pool = FindPool(w.pool);
  const bool decorate = pool == nullptr || pool->config.decorate_workers_output;
  // log_limit: a longer line is wrapped into several, each at most
  // log_limit - 1 bytes with its prefix and quotes (php-fpm's zlog stream),
  // logged as its bytes arrive: nothing is held but the last piece.
  const std::string decoration = "[pool " + w.pool + "] child " + std::to_string(w.pid) + " said into stderr: \"";
  const size_t reserved = log::PrefixLength(log::Level::kWarning) + (decorate ? decoration.size() + 1 : 0);
  const size_t limit = log::LineLimit();
  const size_t room = limit > reserved + 1 ? limit - reserved - 1 : 1;
  const OutputLines::Sink emit = [&](std::string_view piece) {
    if (decorate) log::Warning("{}{}\"", decoration, piece);
    else log::Warning("{}", piece);
  };
  // At most kMaxOutputPerWake bytes a wake-up (the pipe stays readable, the
  // loop comes back): a worker that writes without pause cannot keep the
  // supervisor from its other events. After the exit, what is left (from a
  // child of PHP that still holds the pipe, maybe) is read up to a bound.
  const size_t budget = exited ? kMaxOutputAfterExit : kMaxOutputPerWake;
  size_t wrapped = 0;
  char buf[8192];
  for (size_t got = 0; got < budget;) {
    const ssize_t n = ::read(w.output.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      // Every writer closed it: watched no more (level-triggered EOF would
      // wake the loop for ever).
      poller_->Remove(w.output.get());
      w.output.Reset();
      break;
    }
    if (n < 0) break;
    got += static_cast<size_t>(n);
    wrapped += w.output_lines.Feed(std::string_view(buf, static_cast<size_t>(n)), room, emit);
  }
  if (exited || !w.output) w.output_lines.Finish(emit);
  if (wrapped > 0) {
    worker_output_lines_wrapped_ += wrapped;
    uint64_t held = 0;
    if (output_wrap_log_.Allow(&held)) {
      log::Notice("[pool {}] child {} wrote a line longer than log_limit ({} bytes); logged in pieces as it "
                  "arrives ({} more such lines since the last notice)",
                  w.pool, w.pid, limit, held);
    }
  }
}

void Supervisor::DrainWorker(Worker& w) {
  if (w.state == Worker::State::kStopping) return;
  w.state = Worker::State::kStopping;
  (void)spawner_->Signal(w.pid, SIGQUIT);
  const auto timeout = config_.daemon.process_control_timeout;
  if (timeout.count() > 0) w.kill_at = clock_->Now() + timeout + kGracefulExtra;
}

void Supervisor::BeginStop(StopMode mode, const char* why) {
  if (stop_mode_ == StopMode::kFast || stop_mode_ == mode) return;
  stop_mode_ = mode;
  const bool graceful = mode == StopMode::kGraceful;
  log::Notice("{}: {} stop", why, graceful ? "graceful" : "fast");
  Notify("STOPPING=1");
  if (transition_) RollBackTransition("stopping");
  for (auto& [pid, w] : workers_) {
    w->state = Worker::State::kStopping;
    w->kill_at.reset();
    (void)spawner_->Signal(pid, graceful ? SIGQUIT : SIGTERM);
  }
  const auto timeout = config_.daemon.process_control_timeout;
  if (!graceful) {
    kill_deadline_ = clock_->Now() + kFastStopGrace;
  } else if (timeout.count() > 0) {
    kill_deadline_ = clock_->Now() + timeout + kGracefulExtra;
  }
}

// A front end retries a refused connection on another upstream for any
// request method, but a connection that waited in the queue of a stopping
// host until its exit was reset after nginx had sent the request: a POST
// then fails. So once every worker on a socket acknowledged the drain (it
// accepts no more), the socket stops listening for everyone. Not before:
// accept() on a stopped TCP socket fails, and a worker that has not yet
// seen the SIGQUIT would count that as an accept error. Not in a fast stop
// (the workers are terminated, nobody acknowledges) and not for sockets
// from systemd, which keeps them for the next start.
void Supervisor::StopListeningWhenDrained() {
  if (stop_mode_ != StopMode::kGraceful) return;
  std::set<const Listener*> accepting;
  for (const auto& [pid, w] : workers_) {
    if (!w->drain_acked && w->listener) accepting.insert(w->listener.get());
  }
  auto stop = [&](const std::shared_ptr<Listener>& l) {
    if (!l || !l->fd || l->from_systemd || l->stopped || accepting.count(l.get()) > 0) return;
    l->stopped = true;
    if (answering_.erase(l->fd.get()) > 0) poller_->Remove(l->fd.get());
    if (l->address.kind == os::ListenAddress::Kind::kUnix) (void)os::RemoveSocketFile(l->address.path);
    if (Status st = os::StopListening(l->fd.get()); !st.ok()) {
      log::Warning("graceful stop: {}: {}", l->address.ToString(), st.message());
      return;
    }
    log::Notice("graceful stop: {} no longer accepts connections", l->address.ToString());
  };
  for (const Pool& p : pools_) stop(p.listener);
  for (const auto& [pid, w] : workers_) stop(w->listener);
}

// ----------------------------------------------------------- reload

Result<config::Config> Supervisor::LoadAndCheck(const std::string& text, const std::string& source, bool dry_run) {
  auto cfg = config::LoadConfigString(text, source);
  if (!cfg.ok()) return cfg.status();
  if (options_.check) {
    std::vector<std::string> warnings;
    if (Status st = options_.check(*cfg, dry_run, &warnings); !st.ok()) return st;
    for (const auto& w : warnings) log::Warning("{}", w);
  }
  return cfg;
}

Status Supervisor::Reload(const char* why, os::UniqueFd* waiting_client) {
  if (OnTransitionRequest(TransitionRequest::kControl, transition_.has_value(), stop_mode_ != StopMode::kNone) ==
      RequestAction::kRefuse) {
    if (stop_mode_ != StopMode::kNone) return Status::InvalidArgument("stopping; not reloading");
    return Status::InvalidArgument("a " + transition_->what + " is already in progress");
  }
  std::string text = options_.config_text;
  std::string source = config_.source;
  if (options_.reread_config) {
    auto read = options_.reread_config();
    if (!read.ok()) {
      log::Error("{}: reload refused, still serving the old configuration: {}", why, read.status().message());
      return read.status();
    }
    text = std::move(read.value());
  } else if (!options_.config_path.empty()) {
    auto read = os::ReadRegularFile(options_.config_path, config::kMaxConfigBytes);
    if (!read.ok()) {
      log::Error("{}: reload refused: {}", why, read.status().message());
      return read.status();
    }
    text = std::move(read.value());
    source = options_.config_path;
  }
  auto cfg = LoadAndCheck(text, source, /*dry_run=*/false);
  if (!cfg.ok()) {
    log::Error("{}: reload refused, still serving the old configuration: {}", why, cfg.status().message());
    return cfg.status();
  }
  // Keys that only take effect at start.
  const auto& o = config_.daemon;
  const auto& n = cfg->daemon;
  if (o.control_socket != n.control_socket || o.pid_file != n.pid_file || o.error_log != n.error_log ||
      o.control_socket_mode != n.control_socket_mode || o.control_socket_owner != n.control_socket_owner ||
      o.control_socket_group != n.control_socket_group) {
    log::Warning("{}: changes of daemon.error_log, pid_file and control_socket* take effect at the next start",
                 why);
    cfg->daemon.error_log = o.error_log;
    cfg->daemon.pid_file = o.pid_file;
    cfg->daemon.control_socket = o.control_socket;
    cfg->daemon.control_socket_mode = o.control_socket_mode;
    cfg->daemon.control_socket_owner = o.control_socket_owner;
    cfg->daemon.control_socket_group = o.control_socket_group;
  }
  log::Notice("{}: reloading configuration from {}", why, source);
  return BeginTransition(std::move(cfg.value()), std::move(text), "", "reload", waiting_client);
}

Status Supervisor::BeginTransition(config::Config config, std::string text, const std::string& only_pool,
                                   std::string what, os::UniqueFd* waiting_client) {
  if (transition_) return Status::InvalidArgument("a " + transition_->what + " is already in progress");
  const uint64_t generation = generation_ + 1;
  // New sockets first: a bad address refuses the reload before anything
  // changes (the new sockets are closed again on return).
  std::vector<Pool> next;
  std::vector<std::string> replaced;
  for (const auto& pc : config.pools) {
    if (!only_pool.empty() && pc.name != only_pool) {
      Pool* cur = FindPool(pc.name);
      if (cur != nullptr) {
        next.push_back(*cur);
        continue;
      }
    }
    auto listener = ListenerFor(pc, config.source);
    if (!listener.ok()) {
      log::Error("{} refused: {}", what, listener.status().message());
      return listener.status();
    }
    Pool pool;
    pool.config = pc;
    pool.listener = std::move(listener.value());
    pool.generation = generation;
    pool.counters = CountersFor(pc.name);
    InitPool(pool);
    next.push_back(std::move(pool));
    replaced.push_back(pc.name);
  }
  auto texts = PoolTexts(config, text);
  if (!texts.ok()) return texts.status();

  Transition t;
  t.generation = generation;
  t.what = std::move(what);
  t.replaced = replaced;
  t.old_pools = pools_;
  for (const Pool& p : pools_) {
    const bool stays = !only_pool.empty() && p.config.name != only_pool;
    if (stays) continue;
    for (const Slot& s : p.slots) {
      if (s.pid != 0) t.old_pids.push_back(s.pid);
    }
  }
  t.old_config = std::move(config_);
  t.old_text = std::move(options_.config_text);
  t.old_pool_texts = std::move(pool_texts_);
  t.started_at = clock_->Now();
  t.deadline = t.started_at + kTransitionTimeout;
  if (waiting_client != nullptr) t.waiting.push_back(std::move(*waiting_client));
  transition_.emplace(std::move(t));

  generation_ = generation;
  config_ = std::move(config);
  options_.config_text = std::move(text);
  pool_texts_ = std::move(texts.value());
  pools_ = std::move(next);
  const auto since_boot = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now().time_since_epoch());
  Notify(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS={}", since_boot.count(), transition_->what));
  log::Notice("{}: starting generation {} ({} pool(s))", transition_->what, generation, replaced.size());
  if (Status st = StartNewGeneration(); !st.ok()) {
    RollBackTransition(st.message());
    return st;
  }
  CheckTransition();
  return Status::Ok();
}

Status Supervisor::StartNewGeneration() {
  for (Pool& pool : pools_) {
    if (pool.generation != transition_->generation) continue;
    // pm dynamic/ondemand: as many processes as the pool runs now (a reload
    // under load starts with the capacity that load needed).
    std::optional<int> live;
    for (const Pool& old : transition_->old_pools) {
      if (old.config.name != pool.config.name) continue;
      live = 0;
      for (const Slot& s : old.slots) {
        auto it = workers_.find(s.pid);
        if (s.pid != 0 && it != workers_.end() && it->second->state != Worker::State::kStopping) ++*live;
      }
    }
    const int count = ProcessesForNewGeneration(pool.config, live);
    for (int i = 0; i < count; ++i) {
      if (Status st = SpawnWorker(pool, i); !st.ok()) return st;
    }
  }
  return Status::Ok();
}

void Supervisor::CheckTransition() {
  if (!transition_) return;
  // Every new worker ready, for startup_probation (transition.h).
  std::vector<NewSlot> slots;
  for (const Pool& pool : pools_) {
    if (pool.generation != transition_->generation) continue;
    for (const Slot& s : pool.slots) {
      NewSlot n;
      auto it = s.pid != 0 ? workers_.find(s.pid) : workers_.end();
      if (it != workers_.end()) {
        n.state = NewSlot::State::kRunning;
        n.phase = it->second->state;
        n.ready_at = it->second->ready_at;
      } else if (s.pid != 0 || s.restart_at) {
        n.state = NewSlot::State::kRestartPending;
      }
      slots.push_back(n);
    }
  }
  const GenerationCheck c =
      CheckGeneration(slots, config_.daemon.startup_probation, transition_->deadline, clock_->Now());
  if (c.verdict == Verdict::kRollBack) {
    RollBackTransition(fmt::format("generation {} not ready within {} s", transition_->generation,
                                   kTransitionTimeout.count() / 1000));
  } else if (c.verdict == Verdict::kCommit) {
    CommitTransition();
  }
}

void Supervisor::CommitTransition() {
  Transition t = std::move(*transition_);
  transition_.reset();
  int draining = 0;
  for (pid_t pid : t.old_pids) {
    auto it = workers_.find(pid);
    if (it == workers_.end()) continue;
    DrainWorker(*it->second);
    ++draining;
  }
  // Restarts scheduled for old slots are void: the new generation replaced them.
  const double took = Seconds(t.started_at, clock_->Now());
  log::Notice("{}: generation {} ready after {:.3f} s; {} old process(es) draining", t.what, t.generation, took,
              draining);
  emergency_ = EmergencyRestart(config_.daemon.emergency_restart_threshold,
                                config_.daemon.emergency_restart_interval);
  Notify("READY=1\nSTATUS=serving");
  const control::Json reply{{"ok", true}, {"generation", t.generation}, {"draining", draining},
                            {"seconds", took}};
  if (!t.waiting.empty()) {
    drain_waits_.push_back(DrainWait{t.old_pids, std::move(t.waiting), reply, clock_->Now() + kDrainAckTimeout});
    CheckDrainWaits();
  }
  if (RunQueuedReload(reload_queued_, stop_mode_ != StopMode::kNone)) {
    reload_queued_ = false;
    (void)Reload("SIGUSR2 (queued)", nullptr);
  }
}

void Supervisor::RollBackTransition(const std::string& why) {
  Transition t = std::move(*transition_);
  transition_.reset();
  // Stop what the new generation started; the old one never stopped serving.
  for (Pool& pool : pools_) {
    if (pool.generation != t.generation) continue;
    for (Slot& s : pool.slots) {
      auto it = workers_.find(s.pid);
      if (s.pid == 0 || it == workers_.end()) continue;
      it->second->state = Worker::State::kStopping;
      (void)spawner_->Signal(s.pid, SIGTERM);
      it->second->kill_at = clock_->Now() + kFastStopGrace;
    }
  }
  std::vector<Pool> restored = std::move(t.old_pools);
  const os::TimePoint now = clock_->Now();
  for (Pool& p : restored) {
    if (std::find(t.replaced.begin(), t.replaced.end(), p.config.name) == t.replaced.end()) {
      if (Pool* cur = FindPool(p.config.name)) p = *cur;  // unchanged pool: its current state
      continue;
    }
    for (Slot& s : p.slots) {
      // An old worker that died meanwhile was not replaced: do it now.
      if (RestartOnRollBack(s.pid != 0, workers_.count(s.pid) > 0)) {
        s.pid = 0;
        s.restart_at = now;
      }
    }
  }
  pools_ = std::move(restored);
  generation_ = t.generation - 1;
  config_ = std::move(t.old_config);
  options_.config_text = std::move(t.old_text);
  pool_texts_ = std::move(t.old_pool_texts);
  log::Error("{} failed, rolled back; the previous generation keeps serving: {}", t.what, why);
  if (stop_mode_ == StopMode::kNone) Notify("READY=1\nSTATUS=serving (reload failed)");
  for (os::UniqueFd& fd : t.waiting) Reply(fd, control::ErrorReply(t.what + " failed: " + why));
}

// ----------------------------------------------------------- control

void Supervisor::AcceptControl() {
  for (;;) {
    int fd = ::accept4(control_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    os::UniqueFd client(fd);
    auto cred = os::GetPeerCredentials(fd);
    const bool allowed = cred.ok() && (cred->uid == 0 || cred->uid == ::geteuid() || cred->uid == control_uid_ ||
                                       (control_gid_ != static_cast<gid_t>(-1) && cred->gid == control_gid_));
    // One send, never waiting: the socket buffer of a new connection holds
    // a short answer.
    auto refuse = [fd](std::string_view why) {
      const std::string reply = control::Encode(control::ErrorReply(why));
      [[maybe_unused]] ssize_t n = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    };
    if (!allowed) {
      log::Warning("control socket: refused uid {}", cred.ok() ? static_cast<int>(cred->uid) : -1);
      refuse("permission denied");
      continue;
    }
    const size_t max_clients = static_cast<size_t>(std::max(1, config_.daemon.control_max_clients));
    if (control_clients_.size() >= max_clients) {
      // Make room by dropping the client that has waited longest: idle
      // connections cannot lock pm-ctl out, a new client is always heard.
      auto oldest = control_clients_.begin();
      for (auto i = control_clients_.begin(); i != control_clients_.end(); ++i) {
        if (i->second.deadline < oldest->second.deadline) oldest = i;
      }
      ++control_clients_dropped_;
      uint64_t held = 0;
      if (control_limit_log_.Allow(&held)) {
        log::Warning("control socket: {} clients connected; dropping the one that waited longest ({} more since "
                     "the last such line; control_max_clients)", max_clients, held);
      }
      poller_->Remove(oldest->first);
      control_clients_.erase(oldest);
    }
    if (!poller_->Add(fd, EPOLLIN | EPOLLRDHUP, Token(kControlClient, static_cast<uint64_t>(fd))).ok()) continue;
    ControlClient c;
    c.fd = std::move(client);
    c.caller = Caller{cred->uid, cred->gid};
    c.deadline = clock_->Now() + config_.daemon.control_timeout;
    control_clients_[fd] = std::move(c);
  }
}

void Supervisor::Reply(os::UniqueFd& fd, const control::Json& reply) {
  if (!fd) return;
  ControlClient c;
  c.out = control::Encode(reply);
  c.fd = std::move(fd);
  // Never blocking: what the socket does not take now is sent as the
  // client reads, within control_timeout.
  (void)os::SetNonBlocking(c.fd.get(), true);
  if (SendReply(c)) return;
  const int raw = c.fd.get();
  c.replying = true;
  c.deadline = clock_->Now() + config_.daemon.control_timeout;
  if (!poller_->Add(raw, EPOLLOUT, Token(kControlClient, static_cast<uint64_t>(raw))).ok()) return;
  control_clients_[raw] = std::move(c);
}

bool Supervisor::SendReply(ControlClient& c) {
  while (c.sent < c.out.size()) {
    ssize_t n = ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (n <= 0) break;  // the client went away
    c.sent += static_cast<size_t>(n);
  }
  return true;
}

// Control clients that did not send their request, or did not read their
// reply, in time are dropped: they cannot hold a descriptor for ever.
void Supervisor::ExpireControlClients() {
  const os::TimePoint now = clock_->Now();
  for (auto it = control_clients_.begin(); it != control_clients_.end();) {
    if (now < it->second.deadline) {
      ++it;
      continue;
    }
    ++control_clients_dropped_;
    uint64_t held = 0;
    if (control_limit_log_.Allow(&held)) {
      log::Warning("control socket: dropping a client that did not {} within {} s (control_timeout; {} more since the "
                   "last such line)",
                   it->second.replying ? "read its reply" : "send its request",
                   config_.daemon.control_timeout.count() / 1000.0, held);
    }
    poller_->Remove(it->first);
    it = control_clients_.erase(it);
  }
}

void Supervisor::HandleControl(int fd) {
  auto it = control_clients_.find(fd);
  if (it == control_clients_.end()) return;
  ControlClient& c = it->second;
  if (c.replying) {
    if (!SendReply(c)) return;
    poller_->Remove(fd);
    control_clients_.erase(it);
    return;
  }
  // At most kMaxLine bytes are read and kept: a client cannot make us
  // buffer more, whatever it sends.
  char buf[4096];
  bool closed = false;
  while (c.in.size() < control::kMaxLine) {
    ssize_t n = ::read(fd, buf, std::min(sizeof(buf), control::kMaxLine - c.in.size()));
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      if (c.in.find('\n', c.in.size() - static_cast<size_t>(n)) != std::string::npos) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    closed = n == 0 || errno != EAGAIN;
    break;
  }
  const auto nl = c.in.find('\n');
  if (nl == std::string::npos && !closed && c.in.size() < control::kMaxLine) return;
  poller_->Remove(fd);
  os::UniqueFd client = std::move(c.fd);
  const Caller caller = c.caller;
  const std::string line = std::move(c.in);
  control_clients_.erase(it);
  std::optional<control::Json> reply;
  if (nl == std::string::npos && line.size() >= control::kMaxLine) {
    ++control_requests_too_long_;
    uint64_t held = 0;
    if (control_limit_log_.Allow(&held)) {
      log::Warning("control socket: refused a request longer than {} bytes ({} more since the last such line)",
                   control::kMaxLine, held);
    }
    reply = control::ErrorReply("request too long (at most " + std::to_string(control::kMaxLine) + " bytes)");
  } else if (nl == std::string::npos) {
    reply = control::ErrorReply("request must be one line of JSON");
  } else {
    auto request = control::ParseRequest(std::string_view(line).substr(0, nl));
    if (!request.ok()) {
      reply = control::ErrorReply(request.status().message());
    } else {
      try {
        reply = Dispatch(*request, client, caller);
      } catch (const std::exception& e) {
        Survived("a control request", e);
        reply = control::ErrorReply("internal error: " + base::ValidUtf8(e.what()));
      }
    }
  }
  if (reply) Reply(client, *reply);
}

std::optional<control::Json> Supervisor::Dispatch(const control::Json& request, os::UniqueFd& client,
                                                   const Caller& caller) {
  const std::string cmd = request.at("cmd").get<std::string>();
  if (cmd == "status") return StatusJson();
  if (cmd == "version") return control::Json{{"ok", true}, {"version", TFPM_VERSION}, {"php", TFPM_PHP_VERSION}};
  if (cmd == "stop") {
    auto fast = control::BoolField(request, "fast", false);
    if (!fast.ok()) return control::ErrorReply("stop: " + fast.status().message());
    BeginStop(*fast ? StopMode::kFast : StopMode::kGraceful, "pm-ctl stop");
    return control::Json{{"ok", true}};
  }
  if (cmd == "reopen-logs") {
    log::Notice("reopening log files (pm-ctl reopen-logs)");
    if (Status st = ReopenLogs(); !st.ok()) return control::ErrorReply(st.message());
    return control::Json{{"ok", true}};
  }
  if (cmd == "config-test") {
    auto file = control::StringField(request, "file");
    if (!file.ok()) return control::ErrorReply("config-test " + file.status().message());
    const std::string path = *file;
    // Only a regular file of bounded size is read (a FIFO would block the
    // loop, /dev/zero fill the memory), only one the caller may read
    // itself (errors quote its lines), and checking it changes nothing.
    const uid_t daemon_uid = ::geteuid();
    const SupervisorOptions::FileRule accept = [&](const std::string& file, const struct stat& st) {
      return CallerMayRead(st, caller, daemon_uid, file);
    };
    auto text = os::ReadRegularFile(path, config::kMaxConfigBytes,
                                    [&](const struct stat& st) { return accept(path, st); });
    if (!text.ok()) return control::ErrorReply(text.status().message());
    // A php-fpm.conf is imported from its path, with its includes, each
    // under the same rule.
    if (options_.import_config) text = options_.import_config(path, accept);
    if (!text.ok()) return control::ErrorReply(text.status().message());
    auto cfg = LoadAndCheck(*text, path, /*dry_run=*/true);
    if (!cfg.ok()) return control::ErrorReply(cfg.status().message());
    return control::Json{{"ok", true}, {"file", path}, {"pools", cfg->pools.size()}};
  }
  if (cmd == "reload" || cmd == "restart") {
    auto wait_field = control::BoolField(request, "wait", true);
    if (!wait_field.ok()) return control::ErrorReply(cmd + ": " + wait_field.status().message());
    const bool wait = *wait_field;
    Status st;
    if (cmd == "reload") {
      st = Reload("pm-ctl reload", wait ? &client : nullptr);
    } else {
      auto pool = control::StringField(request, "pool");
      if (!pool.ok()) return control::ErrorReply("restart " + pool.status().message());
      const std::string name = *pool;
      if (FindPool(name) == nullptr) return control::ErrorReply("no pool '" + name + "'");
      if (stop_mode_ != StopMode::kNone) return control::ErrorReply("stopping; not restarting");
      log::Notice("pm-ctl restart: rolling restart of pool {}", name);
      if (OnTransitionRequest(TransitionRequest::kControl, transition_.has_value(), false) ==
          RequestAction::kRefuse) {
        return control::ErrorReply("a " + transition_->what + " is already in progress");
      }
      config::Config same = config_;
      st = BeginTransition(std::move(same), options_.config_text, name, "restart of pool " + name,
                           wait ? &client : nullptr);
    }
    if (!st.ok()) return control::ErrorReply(st.message());
    if (client) return control::Json{{"ok", true}, {"generation", generation_}, {"waiting", false}};
    return std::nullopt;  // answered when the new generation is ready (or failed)
  }
  return control::ErrorReply("unknown command '" + cmd + "'");
}

std::shared_ptr<PoolCounters> Supervisor::CountersFor(const std::string& pool) {
  if (Pool* p = FindPool(pool); p != nullptr && p->counters) return p->counters;
  auto c = std::make_shared<PoolCounters>();
  c->start_epoch = scoreboard::RealtimeMicros() / 1000000;
  return c;
}

// The valid segments of every live process of `pool`, of any generation
// (during a reload both serve).
std::vector<scoreboard::Segment> Supervisor::PoolSegments(const std::string& pool) const {
  std::vector<scoreboard::Segment> out;
  for (const auto& [pid, w] : workers_) {
    if (w->pool != pool || !w->board) continue;
    scoreboard::Segment seg(w->board->data(), w->board->size(), w->pid);
    if (seg.Valid()) out.push_back(seg);
  }
  return out;
}

// Once a second, as php-fpm's maintenance: the maxima of the status page.
void Supervisor::SamplePools() {
  for (Pool& pool : pools_) {
    const auto capacity = static_cast<uint64_t>(pool.config.processes) * static_cast<uint64_t>(pool.config.threads);
    Sample(pool.counters.get(), CountThreads(PoolSegments(pool.config.name)), ReadListenQueue(pool.listener->fd.get()),
           capacity);
  }
  next_sample_ = clock_->Now() + std::chrono::seconds(1);
}

void Supervisor::AnswerPoolStatus(const std::string& pool_name, os::UniqueFd reply, bool full) {
  const Pool* pool = nullptr;
  for (const Pool& p : pools_) {
    if (p.config.name == pool_name) pool = &p;
  }
  if (pool == nullptr) return;  // a removed pool's draining worker: closing `reply` says "unavailable"
  PoolInfo info;
  info.name = pool->config.name;
  info.process_manager = pool->config.pm == config::ProcessManager::kDynamic    ? "dynamic"
                         : pool->config.pm == config::ProcessManager::kOndemand ? "ondemand"
                                                                                : "static";
  std::string text;
  try {
    text = PoolStatus(info, *pool->counters, PoolSegments(pool_name), ReadListenQueue(pool->listener->fd.get()),
                      full, scoreboard::RealtimeMicros())
               .dump(-1, ' ', false, control::Json::error_handler_t::replace);
  } catch (const std::exception& e) {
    Survived("a status page request", e);
    return;  // closing `reply` says "unavailable": that page answers 500
  }
  auto memfd = os::MemfdWithContents("tfpm-status", text);
  if (!memfd.ok()) {
    log::Error("status page: {}", memfd.status().message());
    return;
  }
  if (!os::SendFd(reply.get(), memfd->get(), wc::kTagStatusReply)) log::Warning("status page: the worker did not wait for the answer");
}

control::Json Supervisor::ProcessJson(const Worker& w, uint64_t* busy, uint64_t* idle, uint64_t* served) const {
  using control::Json;
  const int64_t now_us = scoreboard::RealtimeMicros();
  Json threads = Json::array();
  uint64_t process_served = 0;
  scoreboard::Segment seg(w.board->data(), w.board->size());
  if (seg.Valid()) {
    for (uint32_t t = 0, n = seg.Threads(); t < n; ++t) {
      scoreboard::ThreadSnapshot snap;
      if (!scoreboard::ReadSlot(*seg.slot(t), &snap)) continue;
      *served += snap.requests;  // also those of a thread that has exited since
      process_served += snap.requests;
      const scoreboard::ThreadClass cls = scoreboard::Classify(snap.state);
      if (cls == scoreboard::ThreadClass::kAbsent) continue;  // no thread (pm dynamic/ondemand)
      const bool running = cls == scoreboard::ThreadClass::kActive;
      // Starting and Failed threads are neither busy nor idle, as on the status page.
      if (running) *busy += 1;
      if (cls == scoreboard::ThreadClass::kIdle) *idle += 1;
      Json th = {{"index", t},
                 {"state", std::string(scoreboard::ThreadStateName(snap.state))},
                 {"requests", snap.requests},
                 {"last_status", snap.last_status},
                 {"last_duration_ms", snap.last_duration_us / 1000.0},
                 {"last_memory", snap.last_memory}};
      if (running) {
        // The request may have started after now_us was read.
        th["duration_ms"] = std::max<int64_t>(0, now_us - snap.request_start_us) / 1000.0;
        th["method"] = base::ValidUtf8(snap.method);
        th["uri"] = base::ValidUtf8(snap.uri);
        th["script"] = base::ValidUtf8(snap.script);
      }
      threads.push_back(std::move(th));
    }
  }
  const char* state = w.state == Worker::State::kReady      ? "ready"
                      : w.state == Worker::State::kStarting ? "starting"
                                                            : "stopping";
  Json out{{"pid", w.pid},
           {"slot", w.slot},
           {"generation", w.generation},
           {"state", state},
           {"uptime_s", Seconds(w.started_at, clock_->Now())},
           // Epoch seconds (CLOCK_REALTIME) when it started, and the
           // requests its threads served in all: process recycling shows here.
           {"started_at", (now_us - static_cast<int64_t>(Seconds(w.started_at, clock_->Now()) * 1e6)) / 1000000},
           {"requests", process_served},
           {"threads", std::move(threads)}};
  if (!w.recycle_cause.empty()) out["recycling"] = w.recycle_cause;
  return out;
}

}  // namespace tfpm::supervisor
