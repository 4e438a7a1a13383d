// The log files the workers are handed (Supervisor members): the error log
// every worker shares, each pool's access_log and slowlog, and reopening
// them all (SIGUSR1, pm-ctl reopen-logs): opened again here and sent to
// every worker over its notify socket. Kept out of supervisor.cc, which
// keeps to the event loop.
#include "supervisor/supervisor.h"

#include <map>

#include "base/log.h"
#include "ipc/worker_process.h"
#include "os/fd_io.h"
#include "supervisor/supervisor_internal.h"

namespace tfpm::supervisor {

Result<os::UniqueFd> OpenLogForWorkers(const std::string& path, const char* what) {
  auto fd = os::OpenForAppend(path, 0600);
  if (!fd.ok()) return Status::IoError(std::string(what) + " " + fd.status().message());
  return fd;
}

Status Supervisor::OpenWorkersErrorLog() {
  if (config_.daemon.error_log == "stderr") {
    auto fd = os::DuplicateAtLeast(2, 3);
    if (!fd.ok()) return Status::IoError("error_log: stderr: " + fd.status().message());
    log_fd_ = std::move(fd.value());
    return Status::Ok();
  }
  auto fd = OpenLogForWorkers(config_.daemon.error_log, "error_log");
  if (!fd.ok()) return fd.status();
  log_fd_ = std::move(fd.value());
  return Status::Ok();
}

Status Supervisor::ReopenLogs() {
  Status first = log::Reopen();
  auto keep = [&first](const Status& st) {
    if (!st.ok()) log::Error("{}", st.message());
    if (first.ok() && !st.ok()) first = st;
  };
  // The workers' error log: the same descriptor number here gets the new
  // file (workers started from now on inherit it), and each worker gets it.
  const bool error_file = config_.daemon.error_log != "stderr" && log_fd_;
  if (error_file) {
    auto fd = OpenLogForWorkers(config_.daemon.error_log, "error_log");
    if (fd.ok()) {
      if (Status st = os::DuplicateOnto(fd->get(), log_fd_.get()); !st.ok()) keep(Status::IoError("error_log: " + st.message()));
    } else {
      keep(fd.status());
    }
  }
  // One open per file: every worker of the pool writes to the same file.
  std::map<std::string, os::UniqueFd> opened;
  auto file = [&](const std::string& path, const char* what) -> int {
    auto it = opened.find(path);
    if (it == opened.end()) {
      auto fd = OpenLogForWorkers(path, what);
      if (!fd.ok()) keep(fd.status());
      it = opened.emplace(path, fd.ok() ? std::move(fd.value()) : os::UniqueFd()).first;
    }
    return it->second.get();
  };
  for (auto& [pid, worker] : workers_) {
    const Worker& w = *worker;
    auto send = [&w](int fd, char tag, const char* what) {
      if (fd >= 0 && !os::SendFd(w.notify.get(), fd, tag)) {
        log::Warning("[pool {}] child {}: could not hand over the reopened {}", w.pool, w.pid, what);
      }
    };
    if (error_file) send(log_fd_.get(), wc::kTagErrorLog, "error_log");
    if (!w.access_log.empty()) send(file(w.access_log, "access_log"), wc::kTagAccessLog, "access_log");
    if (!w.slowlog.empty()) send(file(w.slowlog, "slowlog"), wc::kTagSlowlog, "slowlog");
  }
  return first;
}

}  // namespace tfpm::supervisor
