// os::Spawner without processes: Spawn records the spec and hands out pids
// from 100000 up (never sent to the kernel: Signal only records), a test
// ends a child with Exit(), and Reap() returns those exits once. The child's
// ends of the descriptors the spec passes are dup'ed and kept, so a test can
// speak for the child on its notify socket (ipc/worker_process.h) with
// ChildFd().
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "os/process.h"
#include "os/unique_fd.h"

namespace tfpm::testing {

class FakeSpawner final : public os::Spawner {
 public:
  struct Child {
    os::SpawnSpec spec;
    std::map<int, os::UniqueFd> fds;  // number in the child -> our dup of it
    std::vector<int> signals;         // received, in order
    bool exited = false;
  };

  // Set to fail the next spawns with this message.
  std::string fail;

  Result<pid_t> Spawn(const os::SpawnSpec& spec) override {
    if (!fail.empty()) return Status::IoError(fail);
    const pid_t pid = next_pid_++;
    Child& c = children_[pid];
    c.spec = spec;
    for (const auto& [fd, target] : spec.fds) {
      if (c.fds.count(target) == 0) c.fds.emplace(target, os::UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0)));
    }
    order_.push_back(pid);
    return pid;
  }
  Status Signal(pid_t pid, int signo) override {
    auto it = children_.find(pid);
    if (it != children_.end() && !it->second.exited) it->second.signals.push_back(signo);
    return Status::Ok();
  }
  std::vector<os::ExitInfo> Reap() override { return std::exchange(exits_, {}); }

  // The child `pid` exits with `code`, or on signal `signo` when > 0.
  void Exit(pid_t pid, int code, int signo = 0) {
    Child& c = children_.at(pid);
    c.exited = true;
    c.fds.clear();  // the kernel closes its ends
    os::ExitInfo info;
    info.pid = pid;
    info.signaled = signo > 0;
    info.code = signo > 0 ? signo : code;
    exits_.push_back(info);
  }

  // The descriptor the child got as `number` (e.g. ipc::kNotifyFd).
  int ChildFd(pid_t pid, int number) const {
    const auto& fds = children_.at(pid).fds;
    auto it = fds.find(number);
    return it == fds.end() ? -1 : it->second.get();
  }
  const Child& child(pid_t pid) const { return children_.at(pid); }
  // Every pid spawned, in order.
  const std::vector<pid_t>& spawned() const { return order_; }
  // The live children (not exited).
  std::vector<pid_t> Alive() const {
    std::vector<pid_t> out;
    for (pid_t p : order_) {
      if (!children_.at(p).exited) out.push_back(p);
    }
    return out;
  }

 private:
  pid_t next_pid_ = 100000;
  std::map<pid_t, Child> children_;
  std::vector<pid_t> order_;
  std::vector<os::ExitInfo> exits_;
};

}  // namespace tfpm::testing
