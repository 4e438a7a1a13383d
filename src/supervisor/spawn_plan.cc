#include "supervisor/spawn_plan.h"

#include <signal.h>

#include "ipc/worker_process.h"

namespace tfpm::supervisor {

namespace wc = ipc;

bool HandsAccessLog(const config::PoolConfig& pc) { return !pc.access_log.empty(); }

bool HandsSlowlog(const config::PoolConfig& pc) {
  return !pc.slowlog.empty() && pc.request_slowlog_timeout.count() > 0;
}

os::SpawnSpec PlanWorkerSpawn(const std::string& executable, const config::PoolConfig& pc, const std::string& source,
                              bool startup_reported, const WorkerFds& fds) {
  os::SpawnSpec spec;
  spec.executable = executable;
  spec.parent_death_signal = SIGTERM;
  spec.fds = {{fds.config, wc::kConfigFd},
              {fds.notify, wc::kNotifyFd},
              {fds.scoreboard, wc::kScoreboardFd},
              {fds.listen, wc::kListenFd}};
  const int total_threads = pc.threads * pc.processes;
  spec.args = {wc::kArgPool, pc.name,
               wc::kArgSource, source,
               wc::kArgConfigFd, std::to_string(wc::kConfigFd),
               wc::kArgNotifyFd, std::to_string(wc::kNotifyFd),
               wc::kArgScoreboardFd, std::to_string(wc::kScoreboardFd),
               wc::kArgListenFds, std::to_string(wc::kListenFd),
               wc::kArgTotalThreads, std::to_string(total_threads)};
  if (startup_reported) spec.args.insert(spec.args.end(), {wc::kArgStartupReported, "1"});
  if (fds.log >= 0) {
    spec.fds.emplace_back(fds.log, wc::kLogFd);
    spec.args.insert(spec.args.end(), {fds.log_is_file ? wc::kArgLogFileFd : wc::kArgLogFd, std::to_string(wc::kLogFd)});
  }
  if (fds.access_log >= 0) {
    spec.fds.emplace_back(fds.access_log, wc::kAccessLogFd);
    spec.args.insert(spec.args.end(), {wc::kArgAccessLogFd, std::to_string(wc::kAccessLogFd)});
  }
  if (fds.slowlog >= 0) {
    spec.fds.emplace_back(fds.slowlog, wc::kSlowlogFd);
    spec.args.insert(spec.args.end(), {wc::kArgSlowlogFd, std::to_string(wc::kSlowlogFd)});
  }
  if (fds.output >= 0) {
    spec.fds.emplace_back(fds.output, 1);
    spec.fds.emplace_back(fds.output, 2);
  }
  return spec;
}

}  // namespace tfpm::supervisor
