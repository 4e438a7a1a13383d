#include "worker/worker_args.h"

#include <charconv>
#include <string_view>

#include "ipc/worker_process.h"

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
    if (k == ipc::kArgPool) a->pool = v;
    else if (k == ipc::kArgSource) a->source = v;
    else if (k == "--config") a->config_path = v;
    else if (k == ipc::kArgConfigFd) { if (!ParseInt(v, &a->config_fd)) { *err = "bad --config-fd"; return false; } }
    else if (k == ipc::kArgScoreboardFd) { if (!ParseInt(v, &a->scoreboard_fd)) { *err = "bad --scoreboard-fd"; return false; } }
    else if (k == ipc::kArgNotifyFd) { if (!ParseInt(v, &a->notify_fd)) { *err = "bad --notify-fd"; return false; } }
    else if (k == ipc::kArgLogFd) { if (!ParseInt(v, &a->log_fd)) { *err = "bad --log-fd"; return false; } }
    else if (k == ipc::kArgLogFileFd) {
      if (!ParseInt(v, &a->log_fd)) { *err = "bad --log-file-fd"; return false; }
      a->log_is_file = true;
    }
    else if (k == ipc::kArgAccessLogFd) { if (!ParseInt(v, &a->access_log_fd)) { *err = "bad --access-log-fd"; return false; } }
    else if (k == ipc::kArgSlowlogFd) { if (!ParseInt(v, &a->slowlog_fd)) { *err = "bad --slowlog-fd"; return false; } }
    else if (k == ipc::kArgStartupReported) a->startup_reported = v == "1";
    else if (k == ipc::kArgTotalThreads) { if (!ParseInt(v, &a->total_threads)) { *err = "bad --total-threads"; return false; } }
    else if (k == ipc::kArgListenFds) {
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
