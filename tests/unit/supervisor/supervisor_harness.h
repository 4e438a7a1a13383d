// A Supervisor driven without processes, for the tests in this folder that
// run it end to end (supervisor_*_test.cc): a FakeSpawner stands for the
// workers (the test writes "ready" on their notify sockets and ends them), a
// FakeClock for time, and signals are raised at the test's own thread,
// which the supervisor's signalfd reads. Real: the event loop, the listening
// and control sockets (in a temporary directory), the scoreboards.
#pragma once

#include <doctest/doctest.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ipc/worker_process.h"
#include "config/load_yaml.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_spawner.h"
#include "supervisor/supervisor.h"

namespace tfpm::supervisor::test {

using std::chrono::milliseconds;

class Harness {
 public:
  Harness() {
    char tmpl[] = "/tmp/tfpm-sup-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    pthread_sigmask(SIG_SETMASK, nullptr, &saved_mask_);
  }
  ~Harness() {
    sup_.reset();
    pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);  // the signalfd blocked them
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Config text: pool www with `processes` static processes.
  std::string Yaml(int processes, const std::string& extra = "") const {
    return "daemon:\n  control_socket: " + dir_ + "/ctl.sock\n  startup_probation: 1s\n" +
           "pools:\n  www:\n    listen: " + dir_ + "/www.sock\n    processes: " + std::to_string(processes) +
           "\n    threads: 1\n" + extra;
  }

  void Start(const std::string& text) {
    auto cfg = config::LoadConfigString(text, "tfpm.yaml");
    REQUIRE(cfg.ok());
    SupervisorOptions o;
    o.worker_executable = "/nonexistent/tfpm-worker";
    o.config_text = text;
    o.reread_config = [this]() -> Result<std::string> { return next_text; };
    o.on_ready = [this](const Status& st) { ready.push_back(st); };
    o.notify = [this](std::string_view m) { notified.emplace_back(m); };
    sup_ = std::make_unique<Supervisor>(std::move(cfg.value()), std::move(o), &spawner, &clock);
    REQUIRE(sup_->Start().ok());
  }

  // Turns of the loop until nothing is left to handle now.
  void Turn() {
    for (int i = 0; i < 5; ++i) sup_->RunOnce(milliseconds(0));
  }
  void Signal(int signo) {
    REQUIRE(::raise(signo) == 0);
    Turn();
  }
  void Ready(pid_t pid) {
    const int fd = spawner.ChildFd(pid, ipc::kNotifyFd);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "ready\n", 6) == 6);
    Turn();
  }
  void Exit(pid_t pid, int code, int signo = 0) {
    spawner.Exit(pid, code, signo);
    Signal(SIGCHLD);
  }
  void Advance(milliseconds by) {
    clock.Advance(by);
    Turn();
  }
  // Spawned pids from index `from` on.
  std::vector<pid_t> SpawnedSince(size_t from) const {
    const auto& all = spawner.spawned();
    return std::vector<pid_t>(all.begin() + static_cast<long>(std::min(from, all.size())), all.end());
  }
  bool Got(pid_t pid, int signo) const {
    const auto& s = spawner.child(pid).signals;
    return std::find(s.begin(), s.end(), signo) != s.end();
  }
  bool Notified(std::string_view what) const {
    return std::any_of(notified.begin(), notified.end(),
                       [&](const std::string& m) { return m.find(what) != std::string::npos; });
  }
  // Starts `text` and brings its first generation through probation.
  std::vector<pid_t> StartReady(const std::string& text) {
    Start(text);
    const std::vector<pid_t> pids = spawner.spawned();
    for (pid_t p : pids) Ready(p);
    Advance(milliseconds(1000));
    REQUIRE(ready.size() == 1);
    REQUIRE(ready[0].ok());
    return pids;
  }

  testing::FakeSpawner spawner;
  testing::FakeClock clock;
  std::string next_text;
  std::vector<Status> ready;
  std::vector<std::string> notified;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  sigset_t saved_mask_;
  std::unique_ptr<Supervisor> sup_;
};

}  // namespace tfpm::supervisor::test
