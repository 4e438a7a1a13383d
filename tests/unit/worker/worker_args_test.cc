#include "worker/worker_args.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace tfpm::worker {
namespace {

bool Parse(std::vector<std::string> words, WorkerArgs* a, std::string* err) {
  std::vector<char*> argv;
  static char name[] = "tfpm-worker";
  argv.push_back(name);
  for (auto& w : words) argv.push_back(w.data());
  return ParseWorkerArgs(static_cast<int>(argv.size()), argv.data(), a, err);
}

TEST_CASE("the supervisor's command line") {
  WorkerArgs a;
  std::string err;
  REQUIRE(Parse({"--pool", "www", "--source", "/etc/tfpm.yaml", "--config-fd", "3", "--notify-fd", "4",
                 "--scoreboard-fd", "5", "--listen-fds", "7,10", "--total-threads", "8", "--log-file-fd", "6",
                 "--access-log-fd", "8", "--slowlog-fd", "9", "--startup-reported", "1"},
                &a, &err));
  CHECK(a.pool == "www");
  CHECK(a.source == "/etc/tfpm.yaml");
  CHECK(a.config_fd == 3);
  CHECK(a.notify_fd == 4);
  CHECK(a.scoreboard_fd == 5);
  CHECK(a.listen_fds == std::vector<int>{7, 10});
  CHECK(a.total_threads == 8);
  CHECK(a.log_fd == 6);
  CHECK(a.log_is_file);
  CHECK(a.access_log_fd == 8);
  CHECK(a.slowlog_fd == 9);
  CHECK(a.startup_reported);
  CHECK(a.cli == PhpCliMode::kNone);
}

TEST_CASE("defaults and the php CLI modes") {
  WorkerArgs a;
  std::string err;
  REQUIRE(Parse({"--info", "--config", "/x.yaml"}, &a, &err));
  CHECK(a.cli == PhpCliMode::kInfo);
  CHECK(a.config_path == "/x.yaml");
  CHECK(a.notify_fd == -1);
  CHECK(a.listen_fds.empty());
  CHECK_FALSE(a.log_is_file);
}

TEST_CASE("bad arguments are named") {
  WorkerArgs a;
  std::string err;
  CHECK_FALSE(Parse({"--config-fd", "3x"}, &a, &err));
  CHECK(err == "bad --config-fd");
  CHECK_FALSE(Parse({"--listen-fds", "7,,8"}, &a, &err));
  CHECK(err == "bad --listen-fds");
  CHECK_FALSE(Parse({"--pool"}, &a, &err));
  CHECK(err == "missing value for --pool");
  CHECK_FALSE(Parse({"--frobnicate", "1"}, &a, &err));
  CHECK(err == "unknown argument --frobnicate");
}

}  // namespace
}  // namespace tfpm::worker
