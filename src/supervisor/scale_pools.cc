// pm dynamic/ondemand scaling, carried out (Supervisor members): what each
// pool's processes are doing goes to DecideScaling (scaling.h, the pure
// decision), and its answer is executed here. Kept out of supervisor.cc,
// which keeps to the event loop.
#include "supervisor/supervisor.h"

#include "base/log.h"
#include "scoreboard/scoreboard.h"
#include "supervisor/supervisor_internal.h"

namespace tfpm::supervisor {

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
      const Worker* found = FindWorker(workers_, s.pid);
      if (found == nullptr) {
        if (s.restart_at) seen.starting = true;
        else if (!seen.free_slot) seen.free_slot = i;
        continue;
      }
      const Worker& w = *found;
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

}  // namespace tfpm::supervisor
