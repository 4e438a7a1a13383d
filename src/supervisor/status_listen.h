// The decisions of a pool's status listener (`status_listen`, php-fpm's
// pm.status_listen): a FastCGI socket the SUPERVISOR serves itself, without
// PHP, so the pool's status, ping, metrics and probes answer while every
// PHP thread of the pool is busy or hung. status_server.h does the I/O;
// this file is pure (tests/unit/supervisor/status_listen_test.cc).
//
// What a request on the status listener may ask (RouteRequest), by its
// path — SCRIPT_NAME, or the path of REQUEST_URI when SCRIPT_NAME is empty:
//   the pool's status_path ("/status" when it has none): php-fpm's status
//       page in every format (?json, ?xml, ?html, ?openmetrics, ?full)
//   the pool's ping_path ("/ping" when it has none): ping_response, 200
//   /metrics: the OpenMetrics page in Prometheus' text format
//       (PrometheusText: text/plain; version=0.0.4)
//   /ready: readiness (DecideReadiness), 200 "ready" or 503 "not ready: why"
//   /live: liveness (DecideLiveness), 200 "alive" or 503 "not alive: why"
//   anything else: 404.
// Only the listener's own pool is ever shown.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tfpm::supervisor {

enum class StatusRoute { kStatus, kPing, kMetrics, kReady, kLive, kNotFound };

inline constexpr std::string_view kMetricsPath = "/metrics";
inline constexpr std::string_view kReadyPath = "/ready";
inline constexpr std::string_view kLivePath = "/live";

// The paths a pool's status listener answers for status and ping: the
// pool's status_path / ping_path, or "/status" / "/ping" when unset.
struct StatusPaths {
  std::string status = "/status";
  std::string ping = "/ping";
};
StatusPaths PathsFor(std::string_view status_path, std::string_view ping_path);

// The request's path from its FastCGI params: SCRIPT_NAME if set and not
// empty, else REQUEST_URI up to '?', else DOCUMENT_URI.
using FcgiParam = std::pair<std::string_view, std::string_view>;
std::string_view RequestPath(std::span<const FcgiParam> params);
std::string_view ParamValue(std::span<const FcgiParam> params, std::string_view name);

StatusRoute RouteRequest(std::string_view path, const StatusPaths& paths);

// An answer as CGI output.
struct StatusAnswer {
  int status = 200;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
};
// "Status: 200 OK\r\n" + headers + "\r\n" + body (no body for HEAD).
std::string CgiBytes(const StatusAnswer& a, bool headers_only);
StatusAnswer PlainAnswer(int status, std::string body);

// The OpenMetrics page (status/render.h, ?openmetrics) in Prometheus' text
// exposition format 0.0.4: the same families and samples without the lines
// that format does not have ("# EOF", "# UNIT").
std::string PrometheusText(std::string_view openmetrics);
inline constexpr std::string_view kPrometheusContentType = "Content-Type: text/plain; version=0.0.4; charset=utf-8";

struct ProbeVerdict {
  bool ok = false;
  std::string reason;  // why not (empty when ok)
};

// Readiness: may a load balancer send this pool new requests?
struct ReadinessInput {
  bool failed = false;        // pool_health.h: its workers do not stay up
  bool draining = false;      // a graceful stop: the pool accepts no more
  bool stopping_soon = false; // drain_delay: a graceful stop is announced
  bool serving = false;       // at least one of its worker processes is ready
  bool backlog_known = false; // the listen queue could be read
  uint64_t backlog = 0;       // connections waiting for a thread (listen queue)
  uint64_t max_backlog = 1;   // ready only while backlog < this
  bool shed_recently = false; // max_wait_time answered 503 within kShedWindow
};
// How long after a request shed by max_wait_time the pool stays not ready.
inline constexpr std::chrono::seconds kShedWindow{10};
// Ready while not failed, not draining, a worker is up, the backlog is
// below max_backlog (an unknown backlog does not count against it) and no
// request was shed recently. An ondemand pool with no PHP thread yet is
// ready: its process is up and its backlog empty.
ProbeVerdict DecideReadiness(const ReadinessInput& in);

// Liveness: should the whole be restarted? The supervisor's loop answers
// (it is answering this request) and the pool's workers are responsive.
struct LivenessInput {
  bool failed = false;      // the pool's workers keep dying (pool_health.h)
  size_t processes = 0;     // live worker processes of the pool
  size_t garbled = 0;       // of those, with a scoreboard that does not validate
  // Threads whose request has run longer than request_terminate_timeout
  // plus kOverrunGrace: the worker's main thread, which ends such requests,
  // did not (0 when request_terminate_timeout is off).
  size_t overrun = 0;
};
inline constexpr std::chrono::seconds kOverrunGrace{10};
ProbeVerdict DecideLiveness(const LivenessInput& in);

// A status listener's protective limits (config: status_listen_*).
struct StatusListenLimits {
  size_t max_clients = 64;                  // connections held at once; more are closed at accept
  std::chrono::milliseconds timeout{5000};  // accept (or the last answer) to the next complete request
  size_t max_request_bytes = 16 * 1024;     // bytes received for one request (its records)
};

}  // namespace tfpm::supervisor
