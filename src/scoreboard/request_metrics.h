// The pool's request metrics (scoreboard/histogram.h) as the supervisor
// reports them and the status page renders them:
//   - SumRequestStats: the reader's sum over one process's segment;
//   - AddRequestMetrics: the fields of the pool status JSON
//     (supervisor/pool_status.h), the retired processes' totals plus the
//     live ones';
//   - RenderRequestMetrics: those fields as OpenMetrics/Prometheus text
//     (the ?openmetrics status page), docs/status.md "Metrics".
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "scoreboard/histogram.h"
#include "scoreboard/scoreboard.h"

namespace tfpm::scoreboard {

// Every slot of `seg` (up to seg.Threads(), never past the mapping).
RequestTotals SumRequestStats(const Segment& seg);

// Adds to a pool status object:
//   "request_duration_seconds", "queue_wait_seconds": {"buckets": [{"le":
//     "0.001", "count": N}, ... {"le": "+Inf", "count": N}] (cumulative),
//     "sum": seconds, "count": N}
//   "requests_by_status_class": {"1xx": N, ... "5xx": N, "other": N}
void AddRequestMetrics(nlohmann::json* status, const RequestTotals& retired, const std::vector<Segment>& live);

// The histograms and the status-class counter as OpenMetrics text, from a
// pool status object made by AddRequestMetrics (fields missing or of the
// wrong type read as 0; the histograms come out well formed whatever the
// numbers). Without the closing "# EOF".
std::string RenderRequestMetrics(const nlohmann::json& status);

}  // namespace tfpm::scoreboard
