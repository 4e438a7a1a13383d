// Generations, carried out (Supervisor members): reload, rolling restart
// and emergency restart start a new generation of workers; CheckGeneration
// and the other pure decisions of transition.h say when it is committed
// (the old one drains) or rolled back (the old one keeps serving). Kept out
// of supervisor.cc, which keeps to the event loop.
#include "supervisor/supervisor.h"

#include <algorithm>
#include <csignal>

#include "base/log.h"
#include "config/load_yaml.h"
#include "os/bounded_read.h"
#include "supervisor/supervisor_internal.h"

namespace tfpm::supervisor {

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
  if (OnTransitionRequest(TransitionRequest::kControl, transition_.has_value(), Stopping()) ==
      RequestAction::kRefuse) {
    if (Stopping()) return Status::InvalidArgument("stopping; not reloading");
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
    next.push_back(NewPool(pc, std::move(listener.value()), generation));
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
  if (Status st = SyncStatusListeners(); !st.ok()) log::Error("{}: {}", transition_->what, st.message());
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
      if (const Worker* w = FindWorker(workers_, s.pid)) {
        n.state = NewSlot::State::kRunning;
        n.phase = w->state;
        n.ready_at = w->ready_at;
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
  if (RunQueuedReload(reload_queued_, Stopping())) {
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
      SendSignal(*spawner_, *it->second, SIGTERM);
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
  if (Status st = SyncStatusListeners(); !st.ok()) log::Error("roll back: {}", st.message());
  generation_ = t.generation - 1;
  config_ = std::move(t.old_config);
  options_.config_text = std::move(t.old_text);
  pool_texts_ = std::move(t.old_pool_texts);
  log::Error("{} failed, rolled back; the previous generation keeps serving: {}", t.what, why);
  if (stop_mode_ == StopMode::kNone) Notify("READY=1\nSTATUS=serving (reload failed)");
  for (os::UniqueFd& fd : t.waiting) Reply(fd, control::ErrorReply(t.what + " failed: " + why));
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

}  // namespace tfpm::supervisor
