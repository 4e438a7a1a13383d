#include "accesslog/format.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <strings.h>

namespace tfpm::accesslog {
namespace {

using Kind = Format::Kind;

// php-fpm keeps at most 128 bytes of a {modifier}.
constexpr size_t kMaxModifier = 128;
// ... and of a strftime result (its buffer is 129 bytes, it passes 128).
constexpr size_t kMaxTime = 128;
constexpr std::string_view kDefaultTimeFormat = "%d/%b/%Y:%H:%M:%S %z";

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

Status Invalid(std::string msg) { return Status::InvalidArgument(std::move(msg)); }

std::string TokenName(char c) { return std::string("%") + c; }

// Picks the kind for token `c` with modifier `mod` ("" = none), or says
// why not in php-fpm's words.
Result<Kind> Classify(char c, std::string_view mod) {
  switch (c) {
    case '%': return Kind::kPercent;
    case 'C':
      if (mod.empty() || IEquals(mod, "total")) return Kind::kCpuTotal;
      if (IEquals(mod, "user")) return Kind::kCpuUser;
      if (IEquals(mod, "system")) return Kind::kCpuSystem;
      return Invalid("only 'total', 'user' or 'system' are allowed as a modifier for %C ('" +
                     std::string(mod) + "')");
    case 'd':
      if (mod.empty() || IEquals(mod, "seconds")) return Kind::kDurationSeconds;
      if (IEquals(mod, "milliseconds") || IEquals(mod, "milli") || IEquals(mod, "miliseconds") ||
          IEquals(mod, "mili")) {
        return Kind::kDurationMillis;
      }
      if (IEquals(mod, "microseconds") || IEquals(mod, "micro")) return Kind::kDurationMicros;
      return Invalid("only 'seconds', 'milli', 'milliseconds', 'micro' or 'microseconds' are allowed "
                     "as a modifier for %d ('" + std::string(mod) + "')");
    case 'e':
      if (mod.empty()) {
        return Invalid("the name of the environment variable must be set between embraces for %e");
      }
      return Kind::kEnv;
    case 'f': return Kind::kScript;
    case 'l': return Kind::kContentLength;
    case 'm': return Kind::kMethod;
    case 'M':
      if (mod.empty() || IEquals(mod, "bytes")) return Kind::kMemoryBytes;
      if (IEquals(mod, "kilobytes") || IEquals(mod, "kilo")) return Kind::kMemoryKilo;
      if (IEquals(mod, "megabytes") || IEquals(mod, "mega")) return Kind::kMemoryMega;
      return Invalid("only 'bytes', 'kilo', 'kilobytes', 'mega' or 'megabytes' are allowed as a "
                     "modifier for %M ('" + std::string(mod) + "')");
    case 'n': return Kind::kPool;
    case 'o':
      if (mod.empty()) return Invalid("the name of the header must be set between embraces for %o");
      return Kind::kHeader;
    case 'p': return Kind::kPid;
    case 'P': return Kind::kPpid;
    case 'q': return Kind::kQuery;
    case 'Q': return Kind::kQueryMark;
    case 'r': return Kind::kRequestUri;
    case 'R': return Kind::kRemoteAddr;
    case 's': return Kind::kStatus;
    case 't': return Kind::kTimeAccepted;
    case 'T': return Kind::kTimeNow;
    case 'u': return Kind::kRemoteUser;
    default: break;
  }
  return Invalid("Invalid token in the access.format (" + TokenName(c) + ")");
}

// Tokens whose value depends on the modifier (the others refuse one).
bool TakesModifier(Kind k) {
  switch (k) {
    case Kind::kCpuTotal: case Kind::kCpuUser: case Kind::kCpuSystem:
    case Kind::kDurationSeconds: case Kind::kDurationMillis: case Kind::kDurationMicros:
    case Kind::kEnv: case Kind::kMemoryBytes: case Kind::kMemoryKilo: case Kind::kMemoryMega:
    case Kind::kHeader: case Kind::kTimeAccepted: case Kind::kTimeNow:
      return true;
    default:
      return false;
  }
}

void AppendUnsigned(std::string* out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out->append(buf, end);
}

void AppendFixed(std::string* out, const char* fmt, double v) {
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, fmt, v);
  if (n > 0) out->append(buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
}

void AppendOrDash(std::string* out, std::string_view v) {
  if (v.empty()) {
    out->push_back('-');
  } else {
    out->append(v);
  }
}

void AppendTime(std::string* out, time_t t, const std::string& format) {
  struct tm tm;
  ::localtime_r(&t, &tm);
  char buf[kMaxTime + 1];
  const char* f = format.empty() ? kDefaultTimeFormat.data() : format.c_str();
  size_t n = std::strftime(buf, kMaxTime, f, &tm);
  out->append(buf, n);  // 0 when it does not fit, as php-fpm's empty result
}

// php-fpm's %o match: header line `h` contains `name` anywhere, has ": "
// right after the first name.size() bytes and something after that.
// Case-sensitive. %o reads the first line that matches.
bool NamesHeader(std::string_view h, std::string_view name) {
  if (h.empty() || h.find(name) == std::string_view::npos) return false;
  if (h.size() <= name.size() + 2) return false;
  return h[name.size()] == ':' && h[name.size() + 1] == ' ';
}

void AppendHeader(std::string* out, std::span<const std::string_view> headers, std::string_view name) {
  for (std::string_view h : headers) {
    if (!NamesHeader(h, name)) continue;
    AppendOrDash(out, h.substr(name.size() + 2));
    return;
  }
  out->push_back('-');
}

double CpuPercent(uint64_t cpu_us, uint64_t duration_us) {
  // php-fpm: ticks / tick rate / wall seconds * 100 (nan/inf for 0 s, too).
  return static_cast<double>(cpu_us) / 1e6 / (static_cast<double>(duration_us) / 1e6) * 100.;
}

}  // namespace

Result<Format> Format::Compile(std::string_view format) {
  Format f;
  auto literal = [&f](char c) {
    if (f.tokens_.empty() || f.tokens_.back().kind != Kind::kLiteral) {
      f.tokens_.push_back({Kind::kLiteral, {}});
    }
    f.tokens_.back().text.push_back(c);
  };
  size_t i = 0;
  while (i < format.size()) {
    if (format[i] != '%') {
      literal(format[i++]);
      continue;
    }
    ++i;  // a '%' at the very end is dropped, as php-fpm does
    std::string mod;
    while (i < format.size() && format[i] == '{') {
      const size_t close = format.find('}', i + 1);
      // php-fpm wants a token character after the '}'.
      if (close == std::string_view::npos || close + 1 >= format.size()) {
        return Invalid("missing closing embrace in the access.format");
      }
      mod.assign(format.substr(i + 1, std::min(close - i - 1, kMaxModifier)));
      i = close + 1;
    }
    if (i >= format.size()) break;
    const char c = format[i++];
    Result<Kind> kind = Classify(c, mod);
    if (!kind.ok()) return kind.status();
    if (!mod.empty() && !TakesModifier(*kind)) {
      return Invalid("embrace is not allowed for modifier " + TokenName(c));
    }
    if (*kind == Kind::kPercent) {
      literal('%');
      continue;
    }
    f.uses_cpu_ |= *kind == Kind::kCpuTotal || *kind == Kind::kCpuUser || *kind == Kind::kCpuSystem;
    f.uses_cpu_split_ |= *kind == Kind::kCpuUser || *kind == Kind::kCpuSystem;
    if (*kind == Kind::kHeader) ++f.header_tokens_;
    f.uses_remote_addr_ |= *kind == Kind::kRemoteAddr;
    f.tokens_.push_back({*kind, std::move(mod)});
  }
  return f;
}

bool Format::TakeHeader(std::string_view line, std::span<uint8_t> taken) const {
  bool take = false;
  size_t i = 0;
  for (const Token& t : tokens_) {
    if (t.kind != Kind::kHeader) continue;
    if (i < taken.size() && taken[i] == 0 && NamesHeader(line, t.text)) {
      taken[i] = 1;
      take = true;
    }
    ++i;
  }
  return take;
}

bool Format::Render(const Record& r, std::string* out) const {
  const size_t start = out->size();
  bool cut = false;
  for (const Token& t : tokens_) {
    const size_t before = out->size();
    if (before - start >= kMaxLine) {
      cut = true;
      break;
    }
    switch (t.kind) {
      case Kind::kLiteral: out->append(t.text); break;
      case Kind::kPercent: out->push_back('%'); break;
      case Kind::kCpuTotal:
        AppendFixed(out, "%.2f", CpuPercent(r.cpu_user_us + r.cpu_system_us, r.duration_us));
        break;
      case Kind::kCpuUser: AppendFixed(out, "%.2f", CpuPercent(r.cpu_user_us, r.duration_us)); break;
      case Kind::kCpuSystem: AppendFixed(out, "%.2f", CpuPercent(r.cpu_system_us, r.duration_us)); break;
      case Kind::kDurationSeconds:
        AppendFixed(out, "%.3f", static_cast<double>(r.duration_us) / 1e6);
        break;
      case Kind::kDurationMillis:
        AppendFixed(out, "%.3f", static_cast<double>(r.duration_us) / 1e3);
        break;
      case Kind::kDurationMicros: AppendUnsigned(out, r.duration_us); break;
      case Kind::kEnv: {
        std::optional<std::string_view> v;
        if (r.env != nullptr) v = r.env(r.env_ctx, t.text);
        if (v) {
          out->append(*v);
        } else {
          out->push_back('-');
        }
        break;
      }
      case Kind::kScript: AppendOrDash(out, r.script_filename); break;
      case Kind::kContentLength: AppendUnsigned(out, r.content_length); break;
      case Kind::kMethod: AppendOrDash(out, r.method); break;
      case Kind::kMemoryBytes: AppendUnsigned(out, r.memory_peak); break;
      case Kind::kMemoryKilo: AppendUnsigned(out, r.memory_peak / 1024); break;
      case Kind::kMemoryMega: AppendUnsigned(out, r.memory_peak / 1024 / 1024); break;
      case Kind::kPool: AppendOrDash(out, r.pool); break;
      case Kind::kHeader: AppendHeader(out, r.headers, t.text); break;
      case Kind::kPid: out->append(std::to_string(r.pid)); break;
      case Kind::kPpid: out->append(std::to_string(r.ppid)); break;
      case Kind::kQuery: out->append(r.query_string); break;
      case Kind::kQueryMark: if (!r.query_string.empty()) out->push_back('?'); break;
      case Kind::kRequestUri: out->append(r.request_uri); break;
      case Kind::kRemoteAddr: AppendOrDash(out, r.remote_addr); break;
      case Kind::kStatus: out->append(std::to_string(r.status)); break;
      case Kind::kTimeAccepted: AppendTime(out, r.accepted, t.text); break;
      case Kind::kTimeNow: AppendTime(out, r.now, t.text); break;
      case Kind::kRemoteUser: out->append(r.auth_user); break;
    }
    // A literal may just fill the line; a value that reaches the limit
    // ends it (php-fpm: "the log buffer is full").
    const size_t len = out->size() - start;
    if (len > kMaxLine || (len == kMaxLine && t.kind != Kind::kLiteral && t.kind != Kind::kPercent)) {
      out->resize(start + kMaxLine);
      cut = true;
      break;
    }
  }
  if (out->size() == start) return true;  // empty line: php-fpm writes nothing
  out->push_back('\n');
  return !cut;
}

bool Suppressed(const Record& r, std::span<const std::string> paths) {
  if (paths.empty() || !r.query_string.empty()) return false;
  if (r.method != "GET" && r.method != "HEAD") return false;
  if (r.status < 200 || r.status > 299) return false;
  if (r.content_length > 0) return false;
  for (const std::string& p : paths) {
    if (p == r.request_uri) return true;
  }
  return false;
}

}  // namespace tfpm::accesslog
