#include "tools/fcgi-bench/report.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace tfpm::bench {

namespace {

double Rps(const RunReport& r) {
  return r.measured_s > 0 ? static_cast<double>(r.stats.ok) / r.measured_s : 0;
}

double Us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

// 1234 ns -> "1.23ms"-style, wrk's units.
std::string Duration(uint64_t ns) {
  char buf[32];
  const double v = static_cast<double>(ns);
  if (v < 1e3) {
    std::snprintf(buf, sizeof buf, "%.0fns", v);
  } else if (v < 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fus", v / 1e3);
  } else if (v < 1e9) {
    std::snprintf(buf, sizeof buf, "%.2fms", v / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.2fs", v / 1e9);
  }
  return buf;
}

std::string Bytes(double b) {
  char buf[32];
  if (b < 1024) {
    std::snprintf(buf, sizeof buf, "%.0fB", b);
  } else if (b < 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.2fKB", b / 1024);
  } else if (b < 1024.0 * 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.2fMB", b / 1024 / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.2fGB", b / 1024 / 1024 / 1024);
  }
  return buf;
}

}  // namespace

std::string FormatText(const Options& options, const RunReport& r) {
  const Stats& s = r.stats;
  const Histogram& h = s.latency_ns;
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "fcgi-bench %s: %d connection(s) (%s), %d thread(s)\n",
                r.target.c_str(), options.connections,
                options.keep_conn ? "FCGI_KEEP_CONN, reused" : "new connection per request",
                std::max(1, std::min(options.threads, options.connections)));
  out += line;
  std::snprintf(line, sizeof line, "  window     %.2fs measured after %.2fs warm-up\n",
                r.measured_s, r.warmup_s);
  out += line;
  std::snprintf(line, sizeof line, "  requests   %llu ok, %llu failed, %llu cut off at the end\n",
                static_cast<unsigned long long>(s.ok),
                static_cast<unsigned long long>(s.error_total()),
                static_cast<unsigned long long>(r.in_flight_at_end));
  out += line;
  std::snprintf(line, sizeof line, "  throughput %.1f req/s, read %s/s, written %s/s\n", Rps(r),
                Bytes(r.measured_s > 0 ? static_cast<double>(s.bytes_read) / r.measured_s : 0).c_str(),
                Bytes(r.measured_s > 0 ? static_cast<double>(s.bytes_written) / r.measured_s : 0).c_str());
  out += line;
  std::snprintf(line, sizeof line,
                "  latency    p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s)\n",
                Duration(h.ValueAtPercentile(50)).c_str(), Duration(h.ValueAtPercentile(90)).c_str(),
                Duration(h.ValueAtPercentile(99)).c_str(),
                Duration(h.ValueAtPercentile(99.9)).c_str(), Duration(h.max()).c_str(),
                Duration(static_cast<uint64_t>(h.Mean())).c_str());
  out += line;
  out += "  errors    ";
  for (size_t i = 0; i < kErrorKindCount; ++i) {
    std::snprintf(line, sizeof line, " %s %llu", std::string(ErrorKindName(static_cast<ErrorKind>(i))).c_str(),
                  static_cast<unsigned long long>(s.errors[i]));
    out += line;
  }
  out += "\n";
  for (size_t i = 0; i < kErrorKindCount; ++i) {
    if (s.first_error[i].empty()) continue;
    out += "    first " + std::string(ErrorKindName(static_cast<ErrorKind>(i))) + " error: " +
           s.first_error[i] + "\n";
  }
  std::snprintf(line, sizeof line, "  bytes      %llu read, %llu written, %llu body; %llu connection(s) opened\n",
                static_cast<unsigned long long>(s.bytes_read),
                static_cast<unsigned long long>(s.bytes_written),
                static_cast<unsigned long long>(s.body_bytes),
                static_cast<unsigned long long>(s.connections_opened));
  out += line;
  if (options.idle_conns > 0) {
    const IdleReport& i = r.idle;
    std::snprintf(line, sizeof line,
                  "  idle       %d %s connection(s): %d connected, %d answered (%d before the load), "
                  "%d failed, %d closed by the server, %d open at the end\n",
                  i.requested, std::string(IdleModeName(options.idle_mode)).c_str(), i.connected,
                  i.answered, i.answered_before_load, i.failed, i.closed_by_server, i.open_at_end);
    out += line;
    if (!i.first_error.empty()) out += "    first idle error: " + i.first_error + "\n";
  }
  return out;
}

std::string FormatJson(const Options& options, const RunReport& r) {
  const Stats& s = r.stats;
  const Histogram& h = s.latency_ns;
  nlohmann::json j;
  j["target"] = r.target;
  j["mode"] = options.keep_conn ? "keep-conn" : "new-conn";
  j["connections"] = options.connections;
  j["threads"] = std::max(1, std::min(options.threads, options.connections));
  j["warmup_s"] = r.warmup_s;
  j["duration_s"] = r.measured_s;
  j["requests"] = s.ok;
  nlohmann::json errors = nlohmann::json::object();
  nlohmann::json first = nlohmann::json::object();
  for (size_t i = 0; i < kErrorKindCount; ++i) {
    const std::string kind(ErrorKindName(static_cast<ErrorKind>(i)));
    errors[kind] = s.errors[i];
    if (!s.first_error[i].empty()) first[kind] = s.first_error[i];
  }
  j["errors"] = errors;
  j["error_total"] = s.error_total();
  j["first_errors"] = first;
  j["rps"] = Rps(r);
  j["latency_us"] = {
      {"min", Us(h.min())},
      {"mean", h.Mean() / 1000.0},
      {"p50", Us(h.ValueAtPercentile(50))},
      {"p90", Us(h.ValueAtPercentile(90))},
      {"p99", Us(h.ValueAtPercentile(99))},
      {"p99_9", Us(h.ValueAtPercentile(99.9))},
      {"max", Us(h.max())},
  };
  j["bytes_read"] = s.bytes_read;
  j["bytes_written"] = s.bytes_written;
  j["body_bytes"] = s.body_bytes;
  j["connections_opened"] = s.connections_opened;
  j["in_flight_at_end"] = r.in_flight_at_end;
  if (options.idle_conns > 0) {
    const IdleReport& i = r.idle;
    j["idle"] = {
        {"mode", std::string(IdleModeName(options.idle_mode))},
        {"requested", i.requested},
        {"connected", i.connected},
        {"answered", i.answered},
        {"answered_before_load", i.answered_before_load},
        {"failed", i.failed},
        {"closed_by_server", i.closed_by_server},
        {"open_at_end", i.open_at_end},
        {"first_error", i.first_error},
    };
  }
  // error_handler::replace: a message with invalid UTF-8 must not throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace tfpm::bench
