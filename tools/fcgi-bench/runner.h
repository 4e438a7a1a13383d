// The load engine of fcgi-bench: client threads, each an epoll loop over its
// share of the connections (non-blocking sockets), plus an optional holder
// of idle connections. All I/O of fcgi-bench happens here; the protocol is
// in Session.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "tools/fcgi-bench/options.h"
#include "tools/fcgi-bench/request.h"
#include "tools/fcgi-bench/stats.h"

namespace tfpm::bench {

// Where to connect.
struct Target {
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string description;  // "unix:/run/x.sock" or "tcp:127.0.0.1:9000"
};

// --unix PATH or --tcp HOST:PORT ([IPv6]:PORT; the first address
// getaddrinfo returns). Errors say what could not be resolved.
Result<Target> ResolveTarget(const Options& options);

// What the idle connections (--idle-conns) went through.
struct IdleReport {
  int requested = 0;             // --idle-conns
  int connected = 0;             // connect() succeeded
  int answered = 0;              // kept mode: valid responses to their one request
  int answered_before_load = 0;  // ... of those, before the load started
  int failed = 0;                // connect failures, invalid responses
  int closed_by_server = 0;      // the server closed an idle connection
  int open_at_end = 0;           // still open when the run ended
  std::string first_error;
};

struct RunReport {
  Stats stats;                 // measured requests only (warm-up excluded)
  double measured_s = 0;       // length of the measurement window
  double warmup_s = 0;
  uint64_t in_flight_at_end = 0;  // requests cut off by the end (not counted)
  IdleReport idle;
  std::string target;
};

// Runs the load `options` describe against `target` with the given request.
// Blocks until the duration has passed, the request count is reached, or
// *stop becomes true (then the window ends early and measured_s says how
// long it was). Fails (without running) only if threads or epoll cannot be
// created; errors of individual requests are counted in the report.
Result<RunReport> RunLoad(const Options& options, const Target& target, const ParamList& params,
                          std::string_view body, const std::atomic<bool>* stop);

}  // namespace tfpm::bench
