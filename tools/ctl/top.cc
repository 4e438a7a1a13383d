#include "tools/ctl/top.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <string_view>

#include "control/protocol.h"
#include "tools/ctl/terminal.h"
#include "tools/ctl/top_model.h"
#include "tools/ctl/top_render.h"

namespace tfpm::ctl {
namespace {

constexpr char kTopUsage[] =
    "Usage: pm-ctl top [--once] [--interval SECONDS] [--pool NAME] [--socket PATH]\n"
    "  a live view of the pools, their busy threads (slowest first) and the slowest\n"
    "  recent requests, refreshed every SECONDS (default 1; 0.1 to 3600). q or Ctrl-C\n"
    "  quits. --once: one frame (two samples SECONDS apart), without escape codes.\n";

// The daemon's answer, read: exit code 0 when it could be.
struct Sampled {
  int code = 0;
  TopSample sample;
};

Sampled Sample(const std::string& socket) {
  Sampled out;
  auto reply = control::Call(socket, control::Json{{"cmd", "status"}, {"detail", true}});
  if (!reply.ok()) {
    std::fprintf(stderr, "pm-ctl: %s\n", reply.status().message().c_str());
    out.code = 3;
    return out;
  }
  if (!reply->value("ok", false)) {
    const auto it = reply->find("error");
    const std::string error = it != reply->end() && it->is_string() ? it->get<std::string>() : "failed";
    std::fprintf(stderr, "pm-ctl: %s\n", TerminalText(error, 0).c_str());
    out.code = 1;
    return out;
  }
  auto parsed = ParseTopSample(*reply);
  if (!parsed.ok()) {
    std::fprintf(stderr, "pm-ctl: %s\n", TerminalText(parsed.status().message(), 0).c_str());
    out.code = 1;
    return out;
  }
  out.sample = std::move(*parsed);
  return out;
}

std::string Clock() {
  const time_t t = ::time(nullptr);
  struct tm tm {};
  char buf[16];
  if (::localtime_r(&t, &tm) == nullptr || std::strftime(buf, sizeof(buf), "%H:%M:%S", &tm) == 0) return "";
  return buf;
}

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

bool HasPool(const TopSample& s, const std::string& pool) {
  return std::any_of(s.pools.begin(), s.pools.end(), [&](const TopPool& p) { return p.name == pool; });
}

// Home, then each line cleared to its end, then the rest of the screen:
// no blank flash between frames.
std::string ForScreen(const std::string& frame) {
  std::string out = "\x1b[H";
  size_t start = 0;
  while (start < frame.size()) {
    const size_t nl = frame.find('\n', start);
    const size_t end = nl == std::string::npos ? frame.size() : nl;
    out.append(frame, start, end - start);
    out += "\x1b[K";
    if (nl == std::string::npos) break;
    out += "\r\n";
    start = nl + 1;
  }
  out += "\x1b[J";
  return out;
}

}  // namespace

int RunTop(int argc, char** argv, int first, std::string socket) {
  bool once = false;
  double interval = 1.0;
  std::string pool;
  for (int i = first; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--once") {
      once = true;
    } else if (a == "--interval" && i + 1 < argc) {
      const std::string_view v = argv[++i];
      const auto r = std::from_chars(v.data(), v.data() + v.size(), interval);
      if (r.ec != std::errc() || r.ptr != v.data() + v.size() || !(interval >= 0.1 && interval <= 3600)) {
        std::fprintf(stderr, "pm-ctl: top: --interval: '%s' is not a number of seconds from 0.1 to 3600\n%s",
                     argv[i], kTopUsage);
        return 2;
      }
    } else if (a == "--pool" && i + 1 < argc) {
      pool = argv[++i];
    } else if (a == "--socket" && i + 1 < argc) {
      socket = argv[++i];
    } else if (a == "-h" || a == "--help") {
      std::fputs(kTopUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "pm-ctl: top: unexpected argument '%s'\n%s", argv[i], kTopUsage);
      return 2;
    }
  }

  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  const bool interactive = !once && tty && ::isatty(STDIN_FILENO) == 1;
  TopHistory history;
  RenderOptions options;
  options.interval_s = interval;
  options.pool = pool;

  Sampled previous = Sample(socket);
  if (previous.code != 0) return previous.code;
  if (!pool.empty() && !HasPool(previous.sample, pool)) {
    std::fprintf(stderr, "pm-ctl: top: no pool '%s'\n", TerminalText(pool, 0).c_str());
    return 1;
  }
  auto taken = std::chrono::steady_clock::now();
  if (once) (void)history.Add(previous.sample, 0, pool);

  Terminal term(interactive);
  if (interactive) Terminal::Write("\x1b[2J", 4);
  for (bool first_frame = true;; first_frame = false) {
    // The first frame of a live view comes at once (no rates yet); --once
    // and later frames wait an interval for the second sample.
    if (once || !first_frame) {
      const int key = term.WaitKey(std::max(0.0, interval - Since(taken)));
      if (key == -1) return once ? 130 : 0;
      if (key == 'q' || key == 'Q') return 0;
      if (key != 0) continue;  // another key: keep waiting until the interval is over
    }
    Sampled now;
    double seconds = 0;
    if (first_frame && !once) {
      now = previous;
    } else {
      now = Sample(socket);
      if (now.code != 0) return now.code;
      seconds = Since(taken);
      taken = std::chrono::steady_clock::now();
    }
    const TopFrame frame = history.Add(now.sample, seconds, pool);
    options.clock = Clock();
    options.width = interactive ? Terminal::Columns() : 0;
    const size_t rows = interactive ? Terminal::Rows() : 0;
    const size_t fixed = now.sample.pools.size() + 12;
    options.max_busy = rows > fixed + 3 ? rows - fixed : (rows > 0 ? 3 : 0);
    const std::string text = RenderFrame(frame, options);
    if (interactive) {
      const std::string screen = ForScreen(text);
      Terminal::Write(screen.data(), screen.size());
    } else {
      const std::string out = once ? text : text + "\n";
      Terminal::Write(out.data(), out.size());
    }
    if (once) return 0;
    previous = std::move(now);
  }
}

}  // namespace tfpm::ctl
