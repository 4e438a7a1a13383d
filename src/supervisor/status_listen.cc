#include "supervisor/status_listen.h"

#include <fmt/format.h>

namespace tfpm::supervisor {

StatusPaths PathsFor(std::string_view status_path, std::string_view ping_path) {
  StatusPaths p;
  if (!status_path.empty()) p.status = std::string(status_path);
  if (!ping_path.empty()) p.ping = std::string(ping_path);
  return p;
}

std::string_view ParamValue(std::span<const FcgiParam> params, std::string_view name) {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return {};
}

std::string_view RequestPath(std::span<const FcgiParam> params) {
  if (std::string_view s = ParamValue(params, "SCRIPT_NAME"); !s.empty()) return s;
  if (std::string_view u = ParamValue(params, "REQUEST_URI"); !u.empty()) return u.substr(0, u.find('?'));
  return ParamValue(params, "DOCUMENT_URI");
}

StatusRoute RouteRequest(std::string_view path, const StatusPaths& paths) {
  if (path.empty()) return StatusRoute::kNotFound;
  if (path == paths.status) return StatusRoute::kStatus;
  if (path == paths.ping) return StatusRoute::kPing;
  if (path == kMetricsPath) return StatusRoute::kMetrics;
  if (path == kReadyPath) return StatusRoute::kReady;
  if (path == kLivePath) return StatusRoute::kLive;
  return StatusRoute::kNotFound;
}

namespace {

std::string_view Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace

std::string CgiBytes(const StatusAnswer& a, bool headers_only) {
  std::string out = fmt::format("Status: {} {}\r\n", a.status, Reason(a.status));
  for (const std::string& h : a.headers) {
    out += h;
    out += "\r\n";
  }
  out += "\r\n";
  if (!headers_only) out += a.body;
  return out;
}

StatusAnswer PlainAnswer(int status, std::string body) {
  StatusAnswer a;
  a.status = status;
  a.headers = {"Content-Type: text/plain", "Cache-Control: no-cache, no-store, must-revalidate, max-age=0"};
  a.body = std::move(body);
  return a;
}

std::string PrometheusText(std::string_view om) {
  std::string out;
  out.reserve(om.size());
  while (!om.empty()) {
    const size_t nl = om.find('\n');
    const std::string_view line = om.substr(0, nl);
    om = nl == std::string_view::npos ? std::string_view() : om.substr(nl + 1);
    if (line == "# EOF" || line.starts_with("# UNIT ")) continue;
    out.append(line);
    out.push_back('\n');
  }
  return out;
}

ProbeVerdict DecideReadiness(const ReadinessInput& in) {
  if (in.failed) return {false, "the pool has failed: its workers do not stay up"};
  if (in.draining) return {false, "the pool is draining"};
  if (in.stopping_soon) return {false, "stopping: the drain begins after drain_delay (still serving until then)"};
  if (!in.serving) return {false, "no worker process of the pool is ready yet"};
  if (in.backlog_known && in.backlog >= in.max_backlog) {
    return {false, fmt::format("{} connection(s) wait for a thread (ready below {})", in.backlog, in.max_backlog)};
  }
  if (in.shed_recently) {
    return {false, fmt::format("max_wait_time shed a request in the last {} s", kShedWindow.count())};
  }
  return {true, {}};
}

ProbeVerdict DecideLiveness(const LivenessInput& in) {
  if (in.failed) return {false, "the pool has failed: its workers do not stay up"};
  if (in.garbled > 0) return {false, fmt::format("{} worker process(es) with an invalid scoreboard", in.garbled)};
  if (in.overrun > 0) {
    return {false, fmt::format("{} request(s) running past request_terminate_timeout + {} s: a worker does not "
                               "enforce it",
                               in.overrun, kOverrunGrace.count())};
  }
  return {true, {}};
}

}  // namespace tfpm::supervisor
