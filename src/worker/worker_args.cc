#include "worker/worker_args.h"

#include <charconv>
#include <string_view>

namespace tfpm::worker {
namespace {

bool ParseInt(std::string_view s, int* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool ParseWorkerArgs(int argc, char** argv, WorkerArgs* a, std::string* err) {
  for (int i = 1; i < argc; ++i) {
    std::string_view k = argv[i];
    auto next = [&](std::string_view* v) {
      if (i + 1 >= argc) return false;
      *v = argv[++i];
      return true;
    };
    std::string_view v;
    if (k == "--modules") { a->cli = PhpCliMode::kModules; continue; }
    if (k == "--info") { a->cli = PhpCliMode::kInfo; continue; }
    if (k == "--ini") { a->cli = PhpCliMode::kIni; continue; }
    if (!next(&v)) { *err = "missing value for " + std::string(k); return false; }
    if (k == "--pool") a->pool = v;
    else if (k == "--source") a->source = v;
    else if (k == "--config") a->config_path = v;
    else if (k == "--config-fd") { if (!ParseInt(v, &a->config_fd)) { *err = "bad --config-fd"; return false; } }
    else if (k == "--scoreboard-fd") { if (!ParseInt(v, &a->scoreboard_fd)) { *err = "bad --scoreboard-fd"; return false; } }
    else if (k == "--notify-fd") { if (!ParseInt(v, &a->notify_fd)) { *err = "bad --notify-fd"; return false; } }
    else if (k == "--log-fd") { if (!ParseInt(v, &a->log_fd)) { *err = "bad --log-fd"; return false; } }
    else if (k == "--log-file-fd") {
      if (!ParseInt(v, &a->log_fd)) { *err = "bad --log-file-fd"; return false; }
      a->log_is_file = true;
    }
    else if (k == "--access-log-fd") { if (!ParseInt(v, &a->access_log_fd)) { *err = "bad --access-log-fd"; return false; } }
    else if (k == "--slowlog-fd") { if (!ParseInt(v, &a->slowlog_fd)) { *err = "bad --slowlog-fd"; return false; } }
    else if (k == "--startup-reported") a->startup_reported = v == "1";
    else if (k == "--total-threads") { if (!ParseInt(v, &a->total_threads)) { *err = "bad --total-threads"; return false; } }
    else if (k == "--listen-fds") {
      size_t start = 0;
      while (start <= v.size()) {
        size_t comma = v.find(',', start);
        std::string_view part = v.substr(start, comma == std::string_view::npos ? v.npos : comma - start);
        int fd;
        if (!ParseInt(part, &fd)) { *err = "bad --listen-fds"; return false; }
        a->listen_fds.push_back(fd);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
    } else {
      *err = "unknown argument " + std::string(k);
      return false;
    }
  }
  return true;
}

}  // namespace tfpm::worker
