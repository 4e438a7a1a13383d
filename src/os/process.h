// Starting and reaping child processes.
//
// Spawner is the narrow interface the supervisor logic takes, so its policy
// is tested with a fake (tests/fakes/fake_spawner.h). The real one,
// BoostSpawner, launches with Boost.Process: fork + exec of a given binary,
// with exactly the listed descriptors inherited (boost::process::limit_handles
// closes everything else, stdio included unless listed), the signal mask and
// dispositions reset, and PR_SET_PDEATHSIG set so a child never outlives a
// supervisor killed with SIGKILL.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace tfpm::os {

struct SpawnSpec {
  std::string executable;            // absolute path
  std::vector<std::string> args;     // argv[1..]
  // {descriptor in this process, number it gets in the child}. Targets 0-2
  // replace stdio; any stdio not listed is /dev/null in the child.
  std::vector<std::pair<int, int>> fds;
  int parent_death_signal = 0;       // 0 = none
};

struct ExitInfo {
  pid_t pid = 0;
  bool signaled = false;
  int code = 0;        // exit code, or the signal number when signaled
  bool core_dumped = false;
  // "exited with code 0" / "exited on signal 9 (SIGKILL)" / "... (core dumped)"
  std::string Describe() const;
};

ExitInfo DecodeWaitStatus(pid_t pid, int status);

class Spawner {
 public:
  virtual ~Spawner() = default;
  // Returns the child's pid. The child is not reaped by the spawner; the
  // caller reaps through Reap().
  virtual Result<pid_t> Spawn(const SpawnSpec& spec) = 0;
  // Sends `signo` to a child this spawner started; a child that is gone
  // already (ESRCH) is not an error.
  virtual Status Signal(pid_t pid, int signo) = 0;
  // The children that exited since the last call, reaped (the caller learns
  // of them through SIGCHLD); empty when none did.
  virtual std::vector<ExitInfo> Reap() = 0;
};

class BoostSpawner final : public Spawner {
 public:
  Result<pid_t> Spawn(const SpawnSpec& spec) override;
  Status Signal(pid_t pid, int signo) override;  // os::Kill
  std::vector<ExitInfo> Reap() override;         // os::ReapChildren
};

// waitpid(-1, WNOHANG) until no exited child is left.
std::vector<ExitInfo> ReapChildren();

// Signal to a process; ESRCH is not an error.
Status Kill(pid_t pid, int signo);

// Absolute path of the running executable (/proc/self/exe).
std::string SelfExecutable();

}  // namespace tfpm::os
