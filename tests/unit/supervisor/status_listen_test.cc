// The pure decisions of a pool's status listener (supervisor/status_listen.h):
// which answer a request gets, readiness, liveness, the Prometheus text.
#include "supervisor/status_listen.h"

#include <doctest/doctest.h>

#include <vector>

namespace tfpm::supervisor {
namespace {

TEST_CASE("status listener: routes by SCRIPT_NAME, else REQUEST_URI's path, else DOCUMENT_URI") {
  const StatusPaths paths = PathsFor("/fpm-status", "");
  CHECK(paths.status == "/fpm-status");
  CHECK(paths.ping == "/ping");
  std::vector<FcgiParam> p = {{"SCRIPT_NAME", "/fpm-status"}, {"REQUEST_URI", "/ping?x"}};
  CHECK(RouteRequest(RequestPath(p), paths) == StatusRoute::kStatus);
  p = {{"SCRIPT_NAME", ""}, {"REQUEST_URI", "/ping?x=1"}};
  CHECK(RequestPath(p) == "/ping");
  CHECK(RouteRequest(RequestPath(p), paths) == StatusRoute::kPing);
  p = {{"DOCUMENT_URI", "/metrics"}};
  CHECK(RouteRequest(RequestPath(p), paths) == StatusRoute::kMetrics);
  CHECK(RouteRequest("/ready", paths) == StatusRoute::kReady);
  CHECK(RouteRequest("/live", paths) == StatusRoute::kLive);
  // Nothing else, and never a prefix match.
  CHECK(RouteRequest("/status", paths) == StatusRoute::kNotFound);  // the pool named its own
  CHECK(RouteRequest("/fpm-status/x", paths) == StatusRoute::kNotFound);
  CHECK(RouteRequest("/readyz", paths) == StatusRoute::kNotFound);
  CHECK(RouteRequest("", paths) == StatusRoute::kNotFound);
  CHECK(RouteRequest("/index.php", PathsFor("", "")) == StatusRoute::kNotFound);
  CHECK(RouteRequest("/status", PathsFor("", "")) == StatusRoute::kStatus);
}

TEST_CASE("status listener: ready only when not failed, not draining, serving, backlog below the depth, no shed") {
  ReadinessInput in;
  in.serving = true;
  in.backlog_known = true;
  in.backlog = 3;
  in.max_backlog = 4;
  CHECK(DecideReadiness(in).ok);
  CHECK(DecideReadiness(in).reason.empty());
  in.backlog = 4;  // the depth itself is not ready
  ProbeVerdict v = DecideReadiness(in);
  CHECK_FALSE(v.ok);
  CHECK(v.reason == "4 connection(s) wait for a thread (ready below 4)");
  in.backlog = 0;
  in.backlog_known = false;
  in.backlog = 100;  // an unknown queue does not count
  CHECK(DecideReadiness(in).ok);
  in.backlog = 0;
  in.shed_recently = true;
  CHECK_FALSE(DecideReadiness(in).ok);
  in.shed_recently = false;
  in.draining = true;
  CHECK(DecideReadiness(in).reason == "the pool is draining");
  in.draining = false;
  in.stopping_soon = true;  // drain_delay: a graceful stop announced
  CHECK_FALSE(DecideReadiness(in).ok);
  CHECK(DecideReadiness(in).reason.starts_with("stopping"));
  in.stopping_soon = false;
  in.serving = false;  // no worker up yet
  CHECK_FALSE(DecideReadiness(in).ok);
  in.serving = true;
  in.failed = true;
  CHECK(DecideReadiness(in).reason == "the pool has failed: its workers do not stay up");
}

TEST_CASE("status listener: an ondemand pool with no PHP thread yet is ready") {
  // Its process is up (serving), no thread, nothing queued.
  ReadinessInput in;
  in.serving = true;
  in.backlog_known = true;
  in.backlog = 0;
  in.max_backlog = 1;
  CHECK(DecideReadiness(in).ok);
}

TEST_CASE("status listener: alive unless failed, a scoreboard is garbled or a request overran its terminate timeout") {
  LivenessInput in;
  in.processes = 2;
  CHECK(DecideLiveness(in).ok);
  in.overrun = 1;
  CHECK_FALSE(DecideLiveness(in).ok);
  in.overrun = 0;
  in.garbled = 1;
  CHECK_FALSE(DecideLiveness(in).ok);
  in.garbled = 0;
  in.failed = true;
  CHECK_FALSE(DecideLiveness(in).ok);
}

TEST_CASE("status listener: /metrics is the OpenMetrics page without # EOF and # UNIT") {
  const std::string om =
      "# HELP phpfpm_up Could pool www using a static PM be reached.\n# TYPE phpfpm_up gauge\nphpfpm_up 1\n"
      "# TYPE tfpm_request_duration_seconds histogram\n# UNIT tfpm_request_duration_seconds seconds\n"
      "tfpm_request_duration_seconds_bucket{le=\"+Inf\"} 0\n# EOF\n";
  const std::string prom = PrometheusText(om);
  CHECK(prom ==
        "# HELP phpfpm_up Could pool www using a static PM be reached.\n# TYPE phpfpm_up gauge\nphpfpm_up 1\n"
        "# TYPE tfpm_request_duration_seconds histogram\n"
        "tfpm_request_duration_seconds_bucket{le=\"+Inf\"} 0\n");
}

TEST_CASE("status listener: CGI bytes; HEAD has no body") {
  StatusAnswer a = PlainAnswer(503, "not ready: x\n");
  CHECK(CgiBytes(a, false) ==
        "Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
        "Cache-Control: no-cache, no-store, must-revalidate, max-age=0\r\n\r\nnot ready: x\n");
  CHECK(CgiBytes(a, true).ends_with("\r\n\r\n"));
}

}  // namespace
}  // namespace tfpm::supervisor
