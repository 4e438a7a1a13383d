// `pm-ctl status` (control socket "status"): the daemon's state as JSON,
// built by Supervisor::StatusJson (status_report.cc) from one PoolReport
// per pool. tools/ctl/main.cc reads the keys ToJson writes; the thread
// counts use scoreboard::Classify like the status page and systemd STATUS=
// (Starting and Failed threads are neither busy nor idle).
#pragma once

#include <cstdint>
#include <string>

#include "base/restart_cause.h"
#include "control/protocol.h"
#include "scoreboard/scoreboard.h"
#include "supervisor/pool_status.h"

namespace tfpm::supervisor {

// Counters of a pool's processes: the retired ones' (PoolCounters) plus
// each live segment's (Add).
struct SegmentTotals {
  uint64_t slow = 0, terminated = 0, rejected = 0, memory_recycles = 0;
  uint64_t idle_trims = 0;  // idle PHP threads that trimmed their memory (idle_trim)
  uint64_t limits[scoreboard::kLimitCount] = {};
  uint64_t restarts[base::kRestartCauseCount] = {};  // threads' interpreters, by cause
  static SegmentTotals Retired(const PoolCounters& c);
  void Add(const scoreboard::Segment& seg);
};

// One pool in `pm-ctl status`.
struct PoolReport {
  std::string name, listen, mode, pm;
  uint64_t generation = 0;
  uint64_t busy_threads = 0, idle_threads = 0, requests = 0;
  SegmentTotals totals;
  uint64_t recycles_max_requests = 0, recycles_memory = 0;
  uint64_t process_restarts[base::kRestartCauseCount] = {};  // PoolCounters::process_restarts
  control::Json health;     // Supervisor::PoolHealthJson
  control::Json processes;  // Supervisor::ProcessJson of each process in a slot
};
control::Json ToJson(const PoolReport& r);

}  // namespace tfpm::supervisor
