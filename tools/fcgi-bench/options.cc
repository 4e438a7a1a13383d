#include "tools/fcgi-bench/options.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace tfpm::bench {

namespace {

constexpr char kUsage[] = R"(Usage: fcgi-bench (--unix PATH | --tcp HOST:PORT) [options]

A FastCGI load generator: like wrk, but speaking FastCGI to the server.
Every response is validated; a failing one counts as an error, never as a
success. Latency is measured from the start of a request (its connect() in
the default one-connection-per-request mode) to its END_REQUEST.

Target:
  --unix PATH              server on a Unix socket
  --tcp HOST:PORT          server on TCP (HOST may be a name or [IPv6])
Load:
  -c, --connections N      concurrent connections (default 1)
  -t, --threads N          client threads, one epoll loop each (default 1)
  -d, --duration S         measure for S seconds (default 10; fractions ok)
  -n, --requests N         measure N requests instead of a duration
  -w, --warmup S           run S seconds before measuring (not recorded)
  -k, --keep-conn          set FCGI_KEEP_CONN and reuse each connection;
                           default: a new connection per request
      --timeout S          a request not finished within S seconds
                           (connect included) is a timeout error (default 10)
Keep-alive pinning:
      --idle-conns N       also hold N extra connections open, idle
      --idle-mode MODE     what they do once connected (default kept):
                             kept   one complete request with FCGI_KEEP_CONN,
                                    then open and silent (an nginx upstream
                                    keepalive connection between requests)
                             silent nothing is sent
                             begin  only a BEGIN_REQUEST (FCGI_KEEP_CONN)
      --idle-settle S      wait up to S seconds for the idle connections to
                           be established (and answered, in kept mode)
                           before the load starts (default 1)
Request (defaults mirror nginx's fastcgi_params):
      --script PATH        SCRIPT_FILENAME
      --script-name NAME   SCRIPT_NAME (default "/" + basename of --script)
      --query QS           QUERY_STRING
      --method M           REQUEST_METHOD (default GET)
  -H, --header 'N: V'      a request header (HTTP_N, or CONTENT_TYPE)
      --param NAME=VALUE   set or add a parameter (applied last)
      --body-file FILE     send FILE as the request body (STDIN)
      --request-file FILE  parameters, one NAME=VALUE per line ('#' comments);
                           replaces the generated defaults
Validation:
      --expect-status N    expected CGI status (default 200; 0 = any)
      --expect-sha256 HEX  expected SHA-256 of the response body
      --expect-body-contains STR
                           the body must contain STR
Output:
      --json               print one JSON object instead of text
  -h, --help

Exit status: 0 all measured requests succeeded, 1 some failed (or none
completed), 2 usage error or the run could not start.
)";

Status Bad(std::string_view option, std::string_view why) {
  return Status::InvalidArgument(std::string(option) + ": " + std::string(why));
}

Status ParseInt(std::string_view option, std::string_view text, int64_t min, int64_t max,
                int64_t* out) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Bad(option, "expected an integer, got \"" + std::string(text) + "\"");
  }
  if (value < min || value > max) {
    return Bad(option, "must be in " + std::to_string(min) + ".." + std::to_string(max));
  }
  *out = value;
  return Status::Ok();
}

Status ParseSeconds(std::string_view option, std::string_view text, bool allow_zero,
                    double* out) {
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(value)) {
    return Bad(option, "expected seconds, got \"" + copy + "\"");
  }
  if (value < 0 || (!allow_zero && value == 0) || value > 86400) {
    return Bad(option, allow_zero ? "must be in 0..86400" : "must be > 0 and <= 86400");
  }
  *out = value;
  return Status::Ok();
}

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

}  // namespace

std::string_view IdleModeName(IdleMode mode) {
  switch (mode) {
    case IdleMode::kKept: return "kept";
    case IdleMode::kSilent: return "silent";
    case IdleMode::kBegin: return "begin";
  }
  return "kept";
}

std::string Usage() { return kUsage; }

Result<Options> ParseOptions(const std::vector<std::string>& args) {
  Options o;
  bool duration_given = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    // --name=value form for long options.
    std::string inline_value;
    bool has_inline = false;
    if (a.starts_with("--")) {
      const size_t eq = a.find('=');
      if (eq != std::string_view::npos) {
        inline_value = std::string(a.substr(eq + 1));
        a = a.substr(0, eq);
        has_inline = true;
      }
    }
    auto value = [&](std::string* out) -> Status {
      if (has_inline) {
        *out = inline_value;
        return Status::Ok();
      }
      if (i + 1 >= args.size()) return Bad(a, "needs a value");
      *out = args[++i];
      return Status::Ok();
    };
    std::string v;
    int64_t n = 0;
    Status s;
    auto flag = [&]() -> Status {
      return has_inline ? Bad(a, "takes no value") : Status::Ok();
    };
    if (a == "-h" || a == "--help") {
      o.help = true;
      return o;
    } else if (a == "--unix") {
      s = value(&o.unix_path);
    } else if (a == "--tcp") {
      s = value(&o.tcp);
    } else if (a == "-c" || a == "--connections") {
      if ((s = value(&v)).ok() && (s = ParseInt(a, v, 1, 100000, &n)).ok()) {
        o.connections = static_cast<int>(n);
      }
    } else if (a == "-t" || a == "--threads") {
      if ((s = value(&v)).ok() && (s = ParseInt(a, v, 1, 1024, &n)).ok()) {
        o.threads = static_cast<int>(n);
      }
    } else if (a == "-d" || a == "--duration") {
      if ((s = value(&v)).ok()) s = ParseSeconds(a, v, false, &o.duration_s);
      duration_given = true;
    } else if (a == "-n" || a == "--requests") {
      if ((s = value(&v)).ok() && (s = ParseInt(a, v, 1, INT64_MAX, &n)).ok()) {
        o.requests = static_cast<uint64_t>(n);
      }
    } else if (a == "-w" || a == "--warmup") {
      if ((s = value(&v)).ok()) s = ParseSeconds(a, v, true, &o.warmup_s);
    } else if (a == "-k" || a == "--keep-conn") {
      s = flag();
      o.keep_conn = true;
    } else if (a == "--timeout") {
      if ((s = value(&v)).ok()) s = ParseSeconds(a, v, false, &o.timeout_s);
    } else if (a == "--idle-conns") {
      if ((s = value(&v)).ok() && (s = ParseInt(a, v, 0, 100000, &n)).ok()) {
        o.idle_conns = static_cast<int>(n);
      }
    } else if (a == "--idle-mode") {
      if ((s = value(&v)).ok()) {
        if (v == "kept") {
          o.idle_mode = IdleMode::kKept;
        } else if (v == "silent") {
          o.idle_mode = IdleMode::kSilent;
        } else if (v == "begin") {
          o.idle_mode = IdleMode::kBegin;
        } else {
          s = Bad(a, "expected kept, silent or begin, got \"" + v + "\"");
        }
      }
    } else if (a == "--idle-settle") {
      if ((s = value(&v)).ok()) s = ParseSeconds(a, v, true, &o.idle_settle_s);
    } else if (a == "--script") {
      s = value(&o.request.script);
    } else if (a == "--script-name") {
      s = value(&o.request.script_name);
    } else if (a == "--query") {
      s = value(&o.request.query);
    } else if (a == "--method") {
      if ((s = value(&o.request.method)).ok() && o.request.method.empty()) s = Bad(a, "is empty");
    } else if (a == "-H" || a == "--header") {
      if ((s = value(&v)).ok()) {
        auto h = ParseHeaderArg(v);
        if (h.ok()) {
          o.request.headers.push_back(std::move(h.value()));
        } else {
          s = Bad(a, h.status().message());
        }
      }
    } else if (a == "--param") {
      if ((s = value(&v)).ok()) {
        auto p = ParseParamArg(v);
        if (p.ok()) {
          o.request.extra_params.push_back(std::move(p.value()));
        } else {
          s = Bad(a, p.status().message());
        }
      }
    } else if (a == "--body-file") {
      s = value(&o.body_file);
    } else if (a == "--request-file") {
      s = value(&o.request_file);
    } else if (a == "--expect-status") {
      if ((s = value(&v)).ok() && (s = ParseInt(a, v, 0, 999, &n)).ok()) {
        if (n != 0 && n < 100) {
          s = Bad(a, "must be 0 (any) or 100..999");
        } else {
          o.expect.status = static_cast<int>(n);
        }
      }
    } else if (a == "--expect-sha256") {
      if ((s = value(&v)).ok()) {
        if (IsHex64(v)) {
          o.expect.sha256_hex = v;
        } else {
          s = Bad(a, "expected 64 hex digits");
        }
      }
    } else if (a == "--expect-body-contains") {
      if ((s = value(&v)).ok()) o.expect.body_contains = v;
    } else if (a == "--json") {
      s = flag();
      o.json = true;
    } else {
      s = Status::InvalidArgument("unknown option \"" + std::string(args[i]) + "\"");
    }
    if (!s.ok()) return s;
  }
  if (o.unix_path.empty() == o.tcp.empty()) {
    return Status::InvalidArgument("give exactly one of --unix PATH and --tcp HOST:PORT");
  }
  if (o.request.script.empty() && o.request_file.empty()) {
    return Status::InvalidArgument("give --script PATH or --request-file FILE");
  }
  if (duration_given && o.requests > 0) {
    return Status::InvalidArgument("give -d or -n, not both");
  }
  if (o.threads > o.connections) o.threads = o.connections;
  return o;
}

}  // namespace tfpm::bench
