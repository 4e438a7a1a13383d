// Process recycling, carried out (Supervisor members): a worker asked to be
// replaced (max_requests, memory); DecideRecycle and OnRecycleProgress
// (recycling.h) decide, these start the replacement in its slot and drain
// the old process once that one is ready. Kept out of supervisor.cc, which
// keeps to the event loop.
#include "supervisor/supervisor.h"

#include <algorithm>

#include "base/log.h"
#include "ipc/worker_process.h"
#include "scoreboard/scoreboard.h"
#include "supervisor/supervisor_internal.h"

namespace tfpm::supervisor {

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

}  // namespace tfpm::supervisor
