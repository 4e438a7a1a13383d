// fcgi-bench's output: a wrk-like text summary or one JSON object.
#pragma once

#include <string>

#include "tools/fcgi-bench/options.h"
#include "tools/fcgi-bench/runner.h"

namespace tfpm::bench {

// Human-readable summary, several lines, ending with a newline.
std::string FormatText(const Options& options, const RunReport& report);

// One JSON object on one line (ending with a newline). Keys:
//   target, mode ("keep-conn" | "new-conn"), connections, threads,
//   warmup_s, duration_s (measured window), requests (successes),
//   errors {connect, write, read, protocol, status, body, timeout},
//   error_total, first_errors {kind: message} (kinds with errors only),
//   rps (successes per second), latency_us {min, mean, p50, p90, p99,
//   p99_9, max} (successful requests), bytes_read, bytes_written,
//   body_bytes, connections_opened, in_flight_at_end, and, with
//   --idle-conns, idle {mode, requested, connected, answered,
//   answered_before_load, failed, closed_by_server, open_at_end,
//   first_error}.
std::string FormatJson(const Options& options, const RunReport& report);

}  // namespace tfpm::bench
