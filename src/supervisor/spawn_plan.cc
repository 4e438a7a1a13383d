#include "supervisor/spawn_plan.h"

#include <signal.h>

#include "base/worker_contract.h"

namespace tfpm::supervisor {

namespace wc = worker_contract;

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
  spec.args = {"--pool", pc.name,
               "--source", source,
               "--config-fd", std::to_string(wc::kConfigFd),
               "--notify-fd", std::to_string(wc::kNotifyFd),
               "--scoreboard-fd", std::to_string(wc::kScoreboardFd),
               "--listen-fds", std::to_string(wc::kListenFd),
               "--total-threads", std::to_string(total_threads)};
  if (startup_reported) spec.args.insert(spec.args.end(), {"--startup-reported", "1"});
  if (fds.log >= 0) {
    spec.fds.emplace_back(fds.log, wc::kLogFd);
    spec.args.insert(spec.args.end(), {fds.log_is_file ? "--log-file-fd" : "--log-fd", std::to_string(wc::kLogFd)});
  }
  if (fds.access_log >= 0) {
    spec.fds.emplace_back(fds.access_log, wc::kAccessLogFd);
    spec.args.insert(spec.args.end(), {"--access-log-fd", std::to_string(wc::kAccessLogFd)});
  }
  if (fds.slowlog >= 0) {
    spec.fds.emplace_back(fds.slowlog, wc::kSlowlogFd);
    spec.args.insert(spec.args.end(), {"--slowlog-fd", std::to_string(wc::kSlowlogFd)});
  }
  if (fds.output >= 0) {
    spec.fds.emplace_back(fds.output, 1);
    spec.fds.emplace_back(fds.output, 2);
  }
  return spec;
}

}  // namespace tfpm::supervisor
