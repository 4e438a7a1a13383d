// php-fpm's access log (access.log, access.format, access.suppress_path)
// as a pure formatter: the format is compiled once, at config load and at
// worker start, into a token list; each request then renders one line from
// a Record of plain values. No PHP, no I/O (the worker owns the file, the
// SAPI fills the Record on the PHP thread that served the request).
//
// Token semantics follow php-fpm's fpm_log.c (PHP 8.2-8.4), including its
// quirks: %r is SG(request_info).request_uri (the script name, not
// REQUEST_URI), %u is the Basic-auth user, %R is the FastCGI peer's IP
// (the web server's, "-" over a Unix socket), %o matches header lines as
// php-fpm does, lines are cut at 1024 bytes.
//
// Thread safety: a compiled Format is immutable; Render() may be called
// from many threads at once.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tfpm::accesslog {

// php-fpm's default access.format.
inline constexpr std::string_view kDefaultFormat = "%R - %u %t \"%m %r\" %s";
// php-fpm's FPM_LOG_BUFFER: a rendered line is cut to this many bytes
// (the '\n' comes after).
inline constexpr size_t kMaxLine = 1024;

// One request, as the access log sees it at request end.
struct Record {
  std::string_view remote_addr;     // %R; "" = unknown (Unix socket) -> "-"
  std::string_view auth_user;       // %u
  std::string_view method;          // %m; "" -> "-"
  std::string_view request_uri;     // %r
  std::string_view query_string;    // %q, %Q
  std::string_view script_filename; // %f; "" -> "-"
  uint64_t content_length = 0;      // %l
  int status = 0;                   // %s
  std::string_view pool;            // %n; "" -> "-"
  long pid = 0, ppid = 0;           // %p, %P
  time_t accepted = 0;              // %t: when the request arrived
  time_t now = 0;                   // %T: when the line is written
  uint64_t duration_us = 0;         // %d
  uint64_t memory_peak = 0;         // %M, bytes
  uint64_t cpu_user_us = 0;         // %C: CPU time the request used
  uint64_t cpu_system_us = 0;
  // %o: the response's header lines ("Name: value"), in PHP's order.
  std::span<const std::string_view> headers;
  // %e: a FastCGI param by name (nullopt = not set -> "-").
  std::optional<std::string_view> (*env)(const void* ctx, std::string_view name) = nullptr;
  const void* env_ctx = nullptr;
};

class Format {
 public:
  // Compiles `format`. Errors carry php-fpm's wording, e.g.
  // "Invalid token in the access.format (%x)".
  static Result<Format> Compile(std::string_view format);

  // Appends the line for `r` plus '\n' to `out`. Nothing is appended when
  // the line is empty (as php-fpm). Returns false if the line was cut at
  // kMaxLine bytes.
  bool Render(const Record& r, std::string* out) const;

  // What Render() will read, so the caller captures only that.
  bool uses_cpu() const { return uses_cpu_; }
  bool uses_cpu_split() const { return uses_cpu_split_; }  // %{user}C / %{system}C
  bool uses_headers() const { return header_tokens_ > 0; }
  bool uses_remote_addr() const { return uses_remote_addr_; }

  // %{name}o reads the first header line that names `name`. A caller that
  // walks the response's lines in order can give Render() only the lines
  // some token will read: TakeHeader() says whether `line` is the first
  // for a token, and marks those tokens in `taken` (header_tokens() flags,
  // all 0 at the start of the walk). Render() then writes the same line
  // from at most header_tokens() header lines, however many the response
  // has (a script may send 100,000).
  size_t header_tokens() const { return header_tokens_; }
  bool TakeHeader(std::string_view line, std::span<uint8_t> taken) const;

  enum class Kind : uint8_t {
    kLiteral, kPercent, kCpuTotal, kCpuUser, kCpuSystem, kDurationSeconds, kDurationMillis,
    kDurationMicros, kEnv, kScript, kContentLength, kMethod, kMemoryBytes, kMemoryKilo,
    kMemoryMega, kPool, kHeader, kPid, kPpid, kQuery, kQueryMark, kRequestUri, kRemoteAddr,
    kStatus, kTimeAccepted, kTimeNow, kRemoteUser,
  };
  struct Token {
    Kind kind;
    std::string text;  // kLiteral: the bytes; kEnv/kHeader: the name; kTime*: strftime format
  };
  const std::vector<Token>& tokens() const { return tokens_; }

 private:
  std::vector<Token> tokens_;
  bool uses_cpu_ = false;
  bool uses_cpu_split_ = false;
  bool uses_remote_addr_ = false;
  size_t header_tokens_ = 0;
};

// php-fpm's access.suppress_path rule: a GET or HEAD without query string
// and without a body, answered 2xx, whose %r equals one of `paths`, is not
// logged.
bool Suppressed(const Record& r, std::span<const std::string> paths);

}  // namespace tfpm::accesslog
