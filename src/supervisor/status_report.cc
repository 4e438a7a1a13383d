#include "supervisor/status_report.h"

#include <unistd.h>

#include <algorithm>

#include "os/process_memory.h"
#include "supervisor/supervisor.h"
#include "tfpm_build_config.h"

namespace tfpm::supervisor {
namespace {

double Seconds(os::TimePoint from, os::TimePoint to) { return std::chrono::duration<double>(to - from).count(); }

const char* PmName(config::ProcessManager pm) {
  switch (pm) {
    case config::ProcessManager::kStatic: return "static";
    case config::ProcessManager::kDynamic: return "dynamic";
    case config::ProcessManager::kOndemand: return "ondemand";
  }
  return "static";
}

// {"crash": n, "exit": n, ...}: counts by base::RestartCause.
control::Json ByCause(const uint64_t (&counts)[base::kRestartCauseCount]) {
  control::Json out = control::Json::object();
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) {
    out[std::string(base::RestartCauseKey(base::RestartCause(i)))] = counts[i];
  }
  return out;
}

}  // namespace

SegmentTotals SegmentTotals::Retired(const PoolCounters& c) {
  SegmentTotals t;
  t.slow = c.retired_slow;
  t.terminated = c.retired_terminated;
  t.rejected = c.retired_rejected;
  t.memory_recycles = c.retired_memory_recycles;
  t.idle_trims = c.retired_idle_trims;
  for (size_t i = 0; i < scoreboard::kLimitCount; ++i) t.limits[i] = c.retired_limits[i];
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) t.restarts[i] = c.retired_restarts[i];
  return t;
}

void SegmentTotals::Add(const scoreboard::Segment& seg) {
  const scoreboard::Header* h = seg.header();
  slow += h->slow_requests.load(std::memory_order_relaxed);
  terminated += h->terminated_requests.load(std::memory_order_relaxed);
  rejected += h->rejected_requests.load(std::memory_order_relaxed);
  memory_recycles += h->memory_recycles.load(std::memory_order_relaxed);
  idle_trims += h->idle_trims.load(std::memory_order_relaxed);
  for (size_t i = 0; i < scoreboard::kLimitCount; ++i) limits[i] += h->Read(scoreboard::Limit(i));
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) restarts[i] += h->ReadRestarts(base::RestartCause(i));
}

control::Json ToJson(const PoolReport& r) {
  using control::Json;
  Json limit_counts = Json::object();
  for (size_t i = 0; i < scoreboard::kLimitCount; ++i) {
    limit_counts[std::string(scoreboard::LimitKey(scoreboard::Limit(i)))] = r.totals.limits[i];
  }
  return Json{{"name", r.name},
              {"listen", r.listen},
              {"mode", r.mode},
              {"pm", r.pm},
              {"generation", r.generation},
              {"busy_threads", r.busy_threads},
              {"idle_threads", r.idle_threads},
              {"requests", r.requests},
              {"slow_requests", r.totals.slow},
              {"terminated_requests", r.totals.terminated},
              {"max_wait_rejected", r.totals.rejected},
              {"idle_trims", r.totals.idle_trims},
              {"recycles", Json{{"max_requests", r.recycles_max_requests},
                                {"memory", r.recycles_memory},
                                {"interpreters_memory", r.totals.memory_recycles}}},
              {"restarts",
               Json{{"threads", ByCause(r.totals.restarts)}, {"processes", ByCause(r.process_restarts)}}},
              {"health", r.health},
              {"limits", std::move(limit_counts)},
              {"processes", r.processes}};
}

control::Json Supervisor::StatusJson(bool detail) const {
  using control::Json;
  const os::TimePoint now = clock_->Now();
  Json pools = Json::array();
  for (const Pool& pool : pools_) {
    const PoolCounters& c = *pool.counters;
    PoolReport r;
    r.name = pool.config.name;
    r.listen = pool.listener->address.ToString();
    r.mode = pool.config.mode == config::PoolMode::kWorker ? "worker" : "classic";
    r.pm = PmName(pool.config.pm);
    r.generation = pool.generation;
    r.totals = SegmentTotals::Retired(c);
    r.recycles_max_requests = c.recycles_max_requests;
    r.recycles_memory = c.recycles_memory;
    for (size_t i = 0; i < base::kRestartCauseCount; ++i) r.process_restarts[i] = c.process_restarts[i];
    r.health = PoolHealthJson(pool, now);
    r.processes = Json::array();
    for (const Slot& slot : pool.slots) {
      auto it = workers_.find(slot.pid);
      if (slot.pid == 0 || it == workers_.end()) continue;
      const Worker& w = *it->second;
      r.processes.push_back(ProcessJson(w, &r.busy_threads, &r.idle_threads, &r.requests, detail));
      if (w.board) {
        scoreboard::Segment seg(w.board->data(), w.board->size());
        if (seg.Valid()) r.totals.Add(seg);
      }
    }
    Json pool_json = ToJson(r);
    if (detail) {
      // The connections waiting in the listening socket's queue (null
      // when the kernel cannot tell, as on the status page).
      const ListenQueue q = ReadListenQueue(pool.listener->fd.get());
      pool_json["listen_queue"] = q.known ? Json{{"current", q.current}, {"limit", q.limit}} : Json(nullptr);
    }
    pools.push_back(std::move(pool_json));
  }
  // Processes of earlier generations that are draining, and new ones of a
  // reload in progress that are not in a pool's slots yet.
  Json others = Json::array();
  for (const auto& [pid, w] : workers_) {
    const Pool* pool = nullptr;
    for (const Pool& p : pools_) {
      if (p.config.name == w->pool) pool = &p;
    }
    if (pool != nullptr && w->slot < static_cast<int>(pool->slots.size()) &&
        pool->slots[static_cast<size_t>(w->slot)].pid == pid) {
      continue;
    }
    uint64_t busy = 0, idle = 0, served = 0;
    Json p = ProcessJson(*w, &busy, &idle, &served, detail);
    p["pool"] = w->pool;
    others.push_back(std::move(p));
  }
  Json out{{"ok", true},
           {"pid", ::getpid()},
           {"version", TFPM_VERSION},
           {"php", TFPM_PHP_VERSION},
           {"uptime_s", Seconds(started_at_, now)},
           {"ready", ready_reported_},
           {"stopping", Stopping()},
           {"generation", generation_},
           {"connections_handed_over", connections_handed_over_},
           {"internal_errors", internal_errors_},
           {"control_clients_dropped", control_clients_dropped_},
           {"control_requests_too_long", control_requests_too_long_},
           {"worker_output_lines_wrapped", worker_output_lines_wrapped_},
           {"pools", std::move(pools)},
           {"previous_generations", std::move(others)}};
  if (transition_) {
    out["reloading"] = Json{{"what", transition_->what}, {"generation", transition_->generation}};
  }
  return out;
}

void Supervisor::AddProcessMemory(const Pool& pool, ipc::PoolStatus* st) const {
  for (const auto& [pid, w] : workers_) {
    if (w->pool != pool.config.name) continue;
    auto rss = os::ResidentBytesOf(pid);
    if (!rss.ok()) continue;
    ++st->worker_processes;
    st->resident_bytes += *rss;
    st->resident_bytes_max = std::max(st->resident_bytes_max, *rss);
  }
}

}  // namespace tfpm::supervisor
