// A worker's spawn plan (supervisor/spawn_plan.h): the descriptor table and
// argv of ipc/worker_process.h, exactly, for each optional part.
#include "supervisor/spawn_plan.h"

#include <doctest/doctest.h>
#include <signal.h>

#include <string>
#include <utility>
#include <vector>

#include "ipc/worker_process.h"

namespace tfpm::supervisor {
namespace {

namespace wc = ipc;
using Fds = std::vector<std::pair<int, int>>;
using Args = std::vector<std::string>;

config::PoolConfig Pool() {
  config::PoolConfig pc;
  pc.name = "www";
  pc.processes = 3;
  pc.threads = 8;
  return pc;
}

WorkerFds Required() {
  WorkerFds f;
  f.config = 20;
  f.notify = 21;
  f.scoreboard = 22;
  f.listen = 23;
  return f;
}

const Args kBaseArgs = {"--pool", "www", "--source", "/etc/tfpm/tfpm.yaml", "--config-fd", "3",
                        "--notify-fd", "4", "--scoreboard-fd", "5", "--listen-fds", "7",
                        "--total-threads", "24"};

TEST_CASE("spawn plan: the required descriptors at 3, 4, 5 and 7, and nothing else") {
  const os::SpawnSpec spec = PlanWorkerSpawn("/usr/sbin/tfpm-worker", Pool(), "/etc/tfpm/tfpm.yaml", false, Required());
  CHECK(spec.executable == "/usr/sbin/tfpm-worker");
  CHECK(spec.parent_death_signal == SIGTERM);
  CHECK(spec.fds == Fds{{20, wc::kConfigFd}, {21, wc::kNotifyFd}, {22, wc::kScoreboardFd}, {23, wc::kListenFd}});
  CHECK(spec.args == kBaseArgs);  // --total-threads: threads x processes
}

TEST_CASE("spawn plan: the error log as stderr or as a file, the pool's logs, captured output") {
  WorkerFds f = Required();
  f.log = 30;
  f.log_is_file = true;
  f.access_log = 31;
  f.slowlog = 32;
  f.output = 33;
  const os::SpawnSpec spec = PlanWorkerSpawn("/w", Pool(), "/etc/tfpm/tfpm.yaml", true, f);
  CHECK(spec.fds == Fds{{20, 3}, {21, 4}, {22, 5}, {23, 7}, {30, wc::kLogFd}, {31, wc::kAccessLogFd},
                        {32, wc::kSlowlogFd}, {33, 1}, {33, 2}});
  Args want = kBaseArgs;
  want.insert(want.end(), {"--startup-reported", "1", "--log-file-fd", "6", "--access-log-fd", "8",
                           "--slowlog-fd", "9"});
  CHECK(spec.args == want);
  f.log_is_file = false;
  f.access_log = f.slowlog = f.output = -1;
  const os::SpawnSpec to_stderr = PlanWorkerSpawn("/w", Pool(), "/etc/tfpm/tfpm.yaml", false, f);
  want = kBaseArgs;
  want.insert(want.end(), {"--log-fd", "6"});
  CHECK(to_stderr.args == want);
}

TEST_CASE("spawn plan: the slowlog is handed over only with request_slowlog_timeout") {
  config::PoolConfig pc = Pool();
  CHECK_FALSE(HandsAccessLog(pc));
  CHECK_FALSE(HandsSlowlog(pc));
  pc.access_log = "/var/log/tfpm/www.access.log";
  pc.slowlog = "/var/log/tfpm/www.slow.log";
  CHECK(HandsAccessLog(pc));
  CHECK_FALSE(HandsSlowlog(pc));
  pc.request_slowlog_timeout = std::chrono::milliseconds(5000);
  CHECK(HandsSlowlog(pc));
}

}  // namespace
}  // namespace tfpm::supervisor
