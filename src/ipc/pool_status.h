// The status of one pool, as the supervisor sends it to a worker that
// serves the status page or fpm_get_status() (ipc/notify.h Tag::kStatus,
// kStatusReply): the supervisor computes it from the scoreboard segments of
// the pool's processes (supervisor/pool_status.h CollectPoolStatus) and
// writes it with ToJson; the worker reads it with FromJson and renders
// php-fpm's formats from it (status/render.h, sapi/php_status.cc).
//
// One struct for both sides, so a field cannot be written under one name
// and read under another: FromJson requires every key with its type, and a
// missing or mistyped one is an error (the status page then answers 500
// and the worker logs why), never a silent 0.
//
// The unit of php-fpm's "processes" is our PHP thread: one row per thread,
// idle/active count threads (scoreboard::Classify).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "base/restart_cause.h"
#include "base/status.h"
#include "scoreboard/scoreboard.h"

namespace tfpm::ipc {

// One PHP thread (php-fpm: one process). Strings are valid UTF-8 (the
// supervisor replaces invalid bytes of client data, base/utf8.h).
struct ThreadRow {
  int64_t pid = 0;
  uint64_t thread = 0;               // its index in the process
  std::string state;                 // scoreboard::ThreadStateName
  int64_t start_time = 0;            // epoch seconds: this thread's interpreter started
  uint64_t requests = 0;             // served by this interpreter
  int64_t process_start_time = 0;    // epoch seconds: the process started
  uint64_t process_requests = 0;     // the process's requests, every thread
  int64_t request_duration = 0;      // µs: the running request so far, or the last one's
  std::string request_method;
  std::string request_uri;           // SCRIPT_NAME, as php-fpm
  std::string query_string;
  uint64_t content_length = 0;
  std::string user;                  // "" while running (as php-fpm)
  std::string script;
  double last_request_cpu = 0;       // percent
  uint64_t last_request_memory = 0;  // 0 while running
  bool operator==(const ThreadRow&) const = default;
};

// The three request metric keys, each an empty object (no request yet).
nlohmann::json EmptyRequestMetrics();

struct PoolStatus {
  std::string pool;
  std::string process_manager;  // static, dynamic, ondemand
  int64_t start_time = 0;       // epoch seconds: the pool first started
  // php-fpm's counters.
  uint64_t accepted_conn = 0;
  uint64_t listen_queue = 0, max_listen_queue = 0, listen_queue_len = 0;
  uint64_t idle_processes = 0, active_processes = 0, max_active_processes = 0;
  uint64_t max_children_reached = 0;
  uint64_t slow_requests = 0;
  uint64_t memory_peak = 0;
  // tfpm's, after php-fpm's (docs/architecture.md "Status page").
  uint64_t terminated_requests = 0, rejected_requests = 0;
  uint64_t process_recycles_max_requests = 0, process_recycles_memory = 0, memory_recycles = 0;
  uint64_t limits[scoreboard::kLimitCount] = {};           // by scoreboard::Limit, key LimitKey
  uint64_t restarts[base::kRestartCauseCount] = {};        // by base::RestartCause, key "restarts_" + key
  // Worker processes that ended (supervisor/exit_cause.h), key
  // "process_restarts_" + key.
  uint64_t process_restarts[base::kRestartCauseCount] = {};
  uint64_t state_leaks = 0;
  uint64_t idle_trims = 0;  // idle PHP threads that gave their free memory back (idle_trim)
  // The pool's live worker processes and their resident memory (RSS, from
  // /proc/PID/statm when the page was made): the sum and the largest.
  uint64_t worker_processes = 0, resident_bytes = 0, resident_bytes_max = 0;
  // The request duration and queue wait histograms and the requests by
  // status class, as scoreboard::AddRequestMetrics writes them
  // (scoreboard/request_metrics.h: "request_duration_seconds",
  // "queue_wait_seconds", "requests_by_status_class"); kept as JSON, the
  // form scoreboard::RenderRequestMetrics reads. FromJson requires the
  // three keys, each an object.
  nlohmann::json request_metrics = EmptyRequestMetrics();
  // With ?full: one row per thread (the key "processes" is then present).
  bool full = false;
  std::vector<ThreadRow> processes;
  bool operator==(const PoolStatus&) const = default;
};

nlohmann::json ToJson(const PoolStatus& s);
// Every key of ToJson with its type ("processes" only if present); the
// error names the key ("pool status: processes[2].pid: missing").
Result<PoolStatus> FromJson(const nlohmann::json& j);
// Parses `text` first: malformed JSON is an error too.
Result<PoolStatus> FromJsonText(std::string_view text);

}  // namespace tfpm::ipc
