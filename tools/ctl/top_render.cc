#include "tools/ctl/top_render.h"

#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "base/utf8.h"

namespace tfpm::ctl {
namespace {

// The code point of the 3-byte sequence at s[i], or 0.
uint32_t ThreeByte(std::string_view s, size_t i) {
  if (i + 2 >= s.size()) return 0;
  const auto a = static_cast<unsigned char>(s[i]), b = static_cast<unsigned char>(s[i + 1]),
             c = static_cast<unsigned char>(s[i + 2]);
  if ((a & 0xF0) != 0xE0 || (b & 0xC0) != 0x80 || (c & 0xC0) != 0x80) return 0;
  return (uint32_t{a & 0x0Fu} << 12) | (uint32_t{b & 0x3Fu} << 6) | uint32_t{c & 0x3Fu};
}

bool DirectionControl(uint32_t cp) {
  return cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
         cp == 0x2028 || cp == 0x2029;  // line and paragraph separators
}

std::string Format(const char* fmt, auto... args) {
  char buf[512];
  const int n = std::snprintf(buf, sizeof(buf), fmt, args...);
  return n <= 0 ? std::string() : std::string(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
}

std::string Duration(double ms) {
  if (ms < 1000) return Format("%.0fms", ms);
  if (ms < 600'000) return Format("%.2fs", ms / 1000);
  const auto s = static_cast<int64_t>(ms / 1000);
  return Format("%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
}

std::string Uptime(double s) {
  const auto t = static_cast<int64_t>(s);
  if (t < 3600) return Format("%" PRId64 "m%02" PRId64 "s", t / 60, t % 60);
  if (t < 86400) return Format("%" PRId64 "h%02" PRId64 "m", t / 3600, t / 60 % 60);
  return Format("%" PRId64 "d%02" PRId64 "h", t / 86400, t / 3600 % 24);
}

// `text` (already safe: TerminalText's output, or ours) cut to `width`
// characters, the cut marked with "...".
std::string Cut(const std::string& text, size_t width) {
  if (width == 0) return text;
  std::vector<size_t> starts;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  if (starts.size() <= width) return text;
  const size_t keep = width > 3 ? width - 3 : 0;
  return text.substr(0, starts[keep]) + std::string("...").substr(0, width - keep);
}

}  // namespace

std::string TerminalText(std::string_view s, size_t width) {
  const std::string escaped = base::EscapeForLog(s);
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size();) {
    if (const uint32_t cp = ThreeByte(escaped, i); cp != 0 && DirectionControl(cp)) {
      out += Format("\\u{%04X}", cp);
      i += 3;
    } else {
      out += escaped[i++];
    }
  }
  return Cut(out, width);
}

std::string HumanBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"K", "M", "G", "T"};
  if (bytes < 1024) return std::to_string(bytes) + "B";
  double v = static_cast<double>(bytes) / 1024;
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  return Format("%.1f%s", v, kUnits[u]);
}

std::string RenderFrame(const TopFrame& frame, const RenderOptions& o) {
  const TopSample& s = *frame.sample;
  std::string out;
  auto line = [&](const std::string& text) { out += Cut(text, o.width) + "\n"; };
  // Columns left for a URI after the fixed ones (at least 20).
  auto uri_width = [&](size_t fixed) -> size_t {
    if (o.width == 0) return 200;  // a URI is at most 512 bytes; escaped, longer
    return o.width > fixed + 20 ? o.width - fixed : 20;
  };

  line(Format("tfpm %s (PHP %s)  pid %" PRId64 "  up %s  generation %" PRIu64 "%s%s  %s  every %.1fs",
              TerminalText(s.version, 20).c_str(), TerminalText(s.php, 20).c_str(), s.pid,
              Uptime(s.uptime_s).c_str(), s.generation, s.reloading ? "  reloading" : "",
              s.stopping ? "  stopping" : "", o.clock.c_str(), o.interval_s));
  line("");
  line(Format("%-16s %5s %5s %5s %5s %8s %10s %11s %8s %10s %6s %7s %9s", "POOL", "PROCS", "BUSY", "IDLE",
              "START", "REQ/S", "REQUESTS", "QUEUE", "REJECTED", "TERMINATED", "SLOW", "CRASHES", "RSS"));
  for (size_t i = 0; i < s.pools.size(); ++i) {
    const TopPool& p = s.pools[i];
    if (!o.pool.empty() && p.name != o.pool) continue;
    const std::string rate = frame.rates[i] ? Format("%.1f", *frame.rates[i]) : "-";
    const std::string queue = p.listen_queue ? Format("%" PRIu64 "/%" PRIu64, *p.listen_queue, *p.listen_queue_limit)
                                             : std::string("?");
    bool rss_known = true;
    uint64_t rss = 0;
    for (const TopProcess& proc : p.processes) {
      if (proc.rss_bytes) rss += *proc.rss_bytes;
      else rss_known = false;
    }
    line(Format("%-16s %5zu %5" PRIu64 " %5" PRIu64 " %5" PRIu64 " %8s %10" PRIu64 " %11s %8" PRIu64 " %10" PRIu64
                " %6" PRIu64 " %7" PRIu64 " %9s%s",
                TerminalText(p.name, 16).c_str(), p.processes.size(), p.busy, p.idle, p.starting, rate.c_str(),
                p.requests, queue.c_str(), p.rejected, p.terminated, p.slow, p.crashes,
                (rss_known ? HumanBytes(rss) : std::string("?")).c_str(), p.failed ? "  FAILED" : ""));
  }
  size_t draining = 0;
  for (const TopProcess& proc : s.previous) draining += o.pool.empty() || proc.pool == o.pool;
  if (draining > 0) line(Format("(%zu process(es) of earlier generations draining)", draining));

  line("");
  line(Format("BUSY THREADS (%zu, slowest first)", frame.busy.size()));
  if (!frame.busy.empty()) {
    line(Format("%-16s %8s %4s %10s %9s %-8s %s", "POOL", "PID", "THR", "DURATION", "PROC-RSS", "METHOD", "URI"));
  }
  size_t shown = 0;
  for (const TopRequest& r : frame.busy) {
    if (o.max_busy != 0 && shown == o.max_busy) {
      line(Format("... %zu more", frame.busy.size() - shown));
      break;
    }
    ++shown;
    line(Format("%-16s %8" PRId64 " %4" PRIu64 " %10s %9s %-8s %s", TerminalText(r.pool, 16).c_str(), r.pid,
                r.thread, Duration(r.duration_ms).c_str(), (r.rss ? HumanBytes(*r.rss) : std::string("?")).c_str(),
                TerminalText(r.method, 8).c_str(), TerminalText(r.uri, uri_width(66)).c_str()));
  }

  line("");
  line("SLOWEST RECENT REQUESTS (each thread's last, as seen at each refresh)");
  if (!frame.recent.empty()) {
    line(Format("%-16s %8s %4s %10s %6s %9s %-8s %s", "POOL", "PID", "THR", "DURATION", "STATUS", "MEMORY", "METHOD",
                "URI"));
  }
  for (const TopRequest& r : frame.recent) {
    line(Format("%-16s %8" PRId64 " %4" PRIu64 " %10s %6" PRId64 " %9s %-8s %s", TerminalText(r.pool, 16).c_str(),
                r.pid, r.thread, Duration(r.duration_ms).c_str(), r.status, HumanBytes(r.memory).c_str(),
                TerminalText(r.method, 8).c_str(), TerminalText(r.uri, uri_width(73)).c_str()));
  }
  return out;
}

}  // namespace tfpm::ctl
