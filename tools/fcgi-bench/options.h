// fcgi-bench's command line. Pure: files named by options are read by the
// caller (main), not here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tools/fcgi-bench/request.h"
#include "tools/fcgi-bench/validate.h"

namespace tfpm::bench {

// What the extra idle connections (--idle-conns) do once connected.
enum class IdleMode {
  // Send one complete request with FCGI_KEEP_CONN, read its response, then
  // stay open and silent: exactly what an nginx upstream keepalive cache
  // holds between requests. The default.
  kKept,
  // Send nothing at all.
  kSilent,
  // Send a BEGIN_REQUEST record (FCGI_KEEP_CONN) and nothing more: a request
  // that has started but whose PARAMS never arrive (a stalled client).
  kBegin,
};
std::string_view IdleModeName(IdleMode mode);

struct Options {
  // Target: exactly one of these is set.
  std::string unix_path;  // --unix
  std::string tcp;        // --tcp HOST:PORT (unparsed; see ResolveTarget)

  int connections = 1;       // -c
  int threads = 1;           // -t (reduced to `connections` if larger)
  double duration_s = 10;    // -d; used when requests == 0
  uint64_t requests = 0;     // -n; 0 = run for duration_s
  double warmup_s = 0;       // -w
  bool keep_conn = false;    // -k / --keep-conn
  double timeout_s = 10;     // --timeout

  int idle_conns = 0;                   // --idle-conns
  IdleMode idle_mode = IdleMode::kKept;  // --idle-mode
  double idle_settle_s = 1;             // --idle-settle

  RequestSpec request;        // --script, --query, --method, -H, --param
  std::string body_file;      // --body-file (read by the caller into request.body)
  std::string request_file;   // --request-file (read and parsed by the caller)

  Expectation expect;  // --expect-status, --expect-sha256, --expect-body-contains
  bool json = false;   // --json
  bool help = false;   // -h / --help: print Usage() and exit 0
};

// The usage text (ends with a newline).
std::string Usage();

// Parses arguments (without argv[0]). Errors name the offending option. The
// result is consistent: a target is given, counts are positive, a script or
// a request file is given, --expect-sha256 is 64 hex digits.
Result<Options> ParseOptions(const std::vector<std::string>& args);

}  // namespace tfpm::bench
