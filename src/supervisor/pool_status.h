// The data of php-fpm's status page (pm.status_path) for one pool, computed
// by the supervisor from the scoreboard segments of the pool's processes.
//
// A worker that serves the status page asks the supervisor for it (the
// worker maps only its own segment); the supervisor answers with
// PoolStatus() as JSON (ipc/pool_status.h), and the worker renders php-fpm's
// text, JSON, XML, HTML or OpenMetrics from it (status/render.h). The unit of php-fpm's
// "processes" is our PHP thread: one row per thread, idle/active count
// threads.
//
// Counters that outlive a process (accepted requests, slow requests, memory
// peak, ...) are kept in PoolCounters, which a pool carries across process
// replacement, rolling restarts and reloads.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "ipc/pool_status.h"
#include "scoreboard/histogram.h"
#include "scoreboard/scoreboard.h"

namespace tfpm::supervisor {

struct PoolCounters {
  int64_t start_epoch = 0;  // seconds: when the pool first started
  // Totals of the pool's processes that have exited (the live ones are read
  // from their segments).
  uint64_t retired_requests = 0, retired_slow = 0, retired_terminated = 0, retired_rejected = 0;
  uint64_t retired_memory_peak = 0;
  uint64_t retired_limits[scoreboard::kLimitCount] = {};  // by scoreboard::Limit
  uint64_t retired_restarts[base::kRestartCauseCount] = {};  // by base::RestartCause
  uint64_t retired_state_leaks = 0;                           // worker mode leak_check
  // Sampled once a second, as php-fpm's maintenance does.
  uint64_t max_listen_queue = 0;
  uint64_t max_active = 0;
  // Times the pool was found at its limit (every thread it may run busy),
  // counted once per episode (php-fpm counts the times pm.max_children
  // stopped it from spawning).
  uint64_t max_children_reached = 0;
  bool saturated = false;
  // Processes replaced by process recycling, by cause (process_max_requests,
  // process_memory_limit).
  uint64_t recycles_max_requests = 0, recycles_memory = 0;
  // Worker processes that ended, by base::RestartCause
  // (supervisor/exit_cause.h), not counting the daemon's own stop.
  uint64_t process_restarts[base::kRestartCauseCount] = {};
  // Classic threads' interpreters recycled by memory_recycle, of exited
  // processes (live ones: their segments).
  uint64_t retired_memory_recycles = 0;
  // Idle PHP threads that trimmed their memory (idle_trim), likewise.
  uint64_t retired_idle_trims = 0;
  // Request duration and queue wait histograms and status classes of exited
  // processes (scoreboard/histogram.h).
  scoreboard::RequestTotals retired_request_stats;

  // Adds an exiting process's totals.
  void Retire(const scoreboard::Segment& seg);
};

// The pending-connection queue of a listening socket: the current length and
// its limit. TCP: TCP_INFO (as php-fpm). Unix: the kernel's sock_diag
// (php-fpm reports 0 there). `known` is false when neither works.
struct ListenQueue {
  uint64_t current = 0, limit = 0;
  bool known = false;
};
ListenQueue ReadListenQueue(int listen_fd);

struct Occupancy {
  uint64_t idle = 0, active = 0;
};
Occupancy CountThreads(const std::vector<scoreboard::Segment>& segments);

// One maintenance sample: updates the max_* counters. `capacity` is the
// most threads the pool may run (processes x threads): a pool is at its
// limit when that many are busy and none is idle.
void Sample(PoolCounters* c, const Occupancy& o, const ListenQueue& q, uint64_t capacity);

struct PoolInfo {
  std::string name;
  std::string process_manager = "static";
};

// The status of one pool (ipc/pool_status.h; field names:
// docs/architecture.md, "Status page"). `segments` are the valid segments
// of its live processes; `full` adds one row per thread. `now_us` is
// CLOCK_REALTIME.
ipc::PoolStatus CollectPoolStatus(const PoolInfo& info, const PoolCounters& c,
                                  const std::vector<scoreboard::Segment>& segments, const ListenQueue& q, bool full,
                                  int64_t now_us);
// The same as the JSON the supervisor sends (ipc::ToJson).
nlohmann::json PoolStatus(const PoolInfo& info, const PoolCounters& c,
                          const std::vector<scoreboard::Segment>& segments, const ListenQueue& q, bool full,
                          int64_t now_us);

}  // namespace tfpm::supervisor
