// Supervisor: the event loop (RunOnce), its timers and deadlines, signals,
// the start and stop of the whole, and the worker's notify messages; the
// other jobs are in their own files (docs/architecture.md "Supervisor").
#include "supervisor/supervisor.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>

#include "base/clock.h"
#include "base/log.h"
#include "base/utf8.h"
#include "ipc/worker_process.h"
#include "config/load_yaml.h"
#include "os/directories.h"
#include "os/process_memory.h"
#include "os/this_process.h"
#include "scoreboard/scoreboard.h"
#include "supervisor/supervisor_internal.h"
#include "tfpm_build_config.h"

namespace tfpm::supervisor {

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
  if (control_fd_) {
    if (Status st = os::RemoveSocketFile(config_.daemon.control_socket); !st.ok()) log::Warning("control_socket: {}", st.message());
  }
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
  status_server_.emplace(&*poller_, Token(kStatusListen, 0), Token(kStatusClient, 0),
                         [this](const std::string& pool, std::span<const FcgiParam> params) {
                           return AnswerStatusListen(pool, params);
                         });

  if (!config_.daemon.pid_file.empty()) {
    if (Status st = os::MakeParentDirectories(config_.daemon.pid_file, 0755); !st.ok()) {
      return Status::IoError("pid_file: " + st.message());
    }
    auto pid = os::PidFile::Create(config_.daemon.pid_file);
    if (!pid.ok()) return pid.status();
    pid_file_.emplace(std::move(pid.value()));
  }
  auto texts = PoolTexts(config_, options_.config_text);
  if (!texts.ok()) return texts.status();
  pool_texts_ = std::move(texts.value());
  if (Status st = OpenWorkersErrorLog(); !st.ok()) return st;
  if (Status st = TakeActivatedSockets(); !st.ok()) return st;
  if (Status st = OpenListeners(); !st.ok()) return st;
  for (const auto& l : activated_) {
    if (l.use_count() == 1) log::Warning("socket {} from systemd is not used by any pool", l->address.ToString());
  }
  if (Status st = SyncStatusListeners(); !st.ok()) return st;
  if (Status st = OpenControlSocket(); !st.ok()) return st;

  for (Pool& pool : pools_) {
    for (int i = 0; i < InitialProcesses(pool.config); ++i) {
      if (Status st = SpawnWorker(pool, i); !st.ok()) return st;
    }
  }
  if (options_.watchdog.count() > 0) next_watchdog_ = clock_->Now();
  next_scale_ = clock_->Now() + kScaleInterval;
  if (options_.notify) next_status_line_ = clock_->Now() + kStatusInterval;
  log::Notice("tfpm {} started, pid {}, {} pool(s)", TFPM_VERSION, os::CurrentPid(), pools_.size());
  return Status::Ok();
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
        case kStatusListen: status_server_->OnListenEvent(static_cast<int>(IdOf(token)), clock_->Now()); break;
        case kStatusClient:
          status_server_->OnClientEvent(static_cast<int>(IdOf(token)), events[i].events, clock_->Now());
          break;
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
  status_server_->Expire(now);
  if (drain_at_ && now >= *drain_at_) BeginStop(StopMode::kGraceful, drain_why_);
  KillOverdue(now);
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
  consider(drain_at_);
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
  if (status_server_) consider(status_server_->NextDeadline());
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
      case SIGQUIT: RequestGracefulStop("SIGQUIT"); break;
      case SIGUSR1:
        log::Notice("reopening log files (SIGUSR1)");
        if (Status st = ReopenLogs(); !st.ok()) log::Error("{}", st.message());
        break;
      case SIGUSR2:
        if (OnTransitionRequest(TransitionRequest::kSignal, transition_.has_value(), Stopping()) ==
            RequestAction::kQueue) {
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

}  // namespace

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

// ----------------------------------------------------------- reload

// ----------------------------------------------------------- control

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
    NoteShed(pool, clock_->Now());
  }
  next_sample_ = clock_->Now() + std::chrono::seconds(1);
}

void Supervisor::AnswerPoolStatus(const std::string& pool_name, os::UniqueFd reply, bool full) {
  const Pool* pool = nullptr;
  for (const Pool& p : pools_) {
    if (p.config.name == pool_name) pool = &p;
  }
  if (pool == nullptr) return;  // a removed pool's draining worker: closing `reply` says "unavailable"
  const PoolInfo info = PoolInfoOf(*pool);
  std::string text;
  try {
    ipc::PoolStatus st = CollectPoolStatus(info, *pool->counters, PoolSegments(pool_name),
                                           ReadListenQueue(pool->listener->fd.get()), full, scoreboard::RealtimeMicros());
    AddProcessMemory(*pool, &st);
    text = ipc::ToJson(st).dump(-1, ' ', false, control::Json::error_handler_t::replace);
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

control::Json Supervisor::ProcessJson(const Worker& w, uint64_t* busy, uint64_t* idle, uint64_t* served,
                                      bool detail) const {
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
      } else if (detail && snap.requests > 0) {
        // The scoreboard keeps the last request's method and URI until the
        // next one begins: what `pm-ctl top` lists as recent requests.
        th["last_method"] = base::ValidUtf8(snap.method);
        th["last_uri"] = base::ValidUtf8(snap.uri);
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
  if (detail) {
    // null when /proc cannot tell (the process has just exited).
    auto rss = os::ResidentBytesOf(w.pid);
    out["rss_bytes"] = rss.ok() ? Json(*rss) : Json(nullptr);
  }
  return out;
}

}  // namespace tfpm::supervisor
