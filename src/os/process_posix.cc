#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <boost/process/args.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/handles.hpp>
#include <boost/process/io.hpp>
#include <cerrno>
#include <climits>
#include <cstring>

#include "os/process.h"
#include "os/signals.h"

namespace bp = boost::process;

namespace tfpm::os {
namespace {

// A Boost.Process initializer that places parent descriptors at fixed numbers
// in the child and declares those numbers as used, so limit_handles keeps
// them open. Runs in the child between fork and exec: async-signal-safe only.
struct InheritFds : bp::detail::posix::handler_base_ext, bp::detail::uses_handles {
  explicit InheritFds(const std::vector<std::pair<int, int>>& map) : map_(map) {
    for (const auto& [from, to] : map_) targets_.push_back(to);
  }

  template <typename Executor>
  void on_exec_setup(Executor& exec) const {
    // Move every source above all targets first, so dup2 into a target never
    // clobbers a source that is still to be placed.
    // Just above the highest target: a fixed floor (it was 256) fails with
    // EINVAL under a lower descriptor limit (rlimit_files).
    int floor = 0;
    for (int t : targets_) floor = t >= floor ? t + 1 : floor;
    int temp[64];
    const size_t n = map_.size() < 64 ? map_.size() : 64;
    for (size_t i = 0; i < n; ++i) {
      temp[i] = ::fcntl(map_[i].first, F_DUPFD, floor);
      if (temp[i] < 0) {
        exec.set_error(std::error_code(errno, std::system_category()), "fcntl(F_DUPFD)");
        return;
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (::dup2(temp[i], map_[i].second) < 0) {  // dup2 clears FD_CLOEXEC
        exec.set_error(std::error_code(errno, std::system_category()), "dup2");
        return;
      }
      ::close(temp[i]);
    }
  }

  const std::vector<int>& get_used_handles() const { return targets_; }

  std::vector<std::pair<int, int>> map_;
  std::vector<int> targets_;
};

bool HasTarget(const SpawnSpec& spec, int target) {
  for (const auto& [from, to] : spec.fds) {
    if (to == target) return true;
  }
  return false;
}

}  // namespace

Result<pid_t> BoostSpawner::Spawn(const SpawnSpec& spec) {
  if (::access(spec.executable.c_str(), X_OK) != 0) {
    return ErrnoStatus("spawn " + spec.executable, errno);
  }
  const pid_t parent = ::getpid();
  const int death_signal = spec.parent_death_signal;
  auto child_setup = bp::extend::on_exec_setup = [parent, death_signal](auto&) {
    ResetSignalsForExec();
    if (death_signal != 0) {
      ::prctl(PR_SET_PDEATHSIG, death_signal);
      // The parent may have died between fork and prctl.
      if (::getppid() != parent) ::_exit(1);
    }
  };
  std::vector<std::pair<int, int>> fds = spec.fds;
  // Missing stdio becomes /dev/null rather than a closed descriptor that a
  // later open() would silently take over.
  int devnull = -1;
  for (int std_fd = 0; std_fd <= 2; ++std_fd) {
    if (HasTarget(spec, std_fd)) continue;
    if (devnull < 0) devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) fds.emplace_back(devnull, std_fd);
  }
  std::error_code ec;
  bp::child child(bp::exe = spec.executable, bp::args = spec.args, InheritFds(fds),
                  child_setup, bp::limit_handles, ec);
  if (devnull >= 0) ::close(devnull);
  if (ec) return Status::IoError("spawn " + spec.executable + ": " + ec.message());
  const pid_t pid = child.id();
  child.detach();  // we reap with waitpid(-1) in ReapChildren()
  return pid;
}

std::string ExitInfo::Describe() const {
  if (!signaled) return "exited with code " + std::to_string(code);
  const char* name = sigabbrev_np(code);
  std::string s = "exited on signal " + std::to_string(code);
  if (name) s += std::string(" (SIG") + name + ")";
  if (core_dumped) s += " (core dumped)";
  return s;
}

ExitInfo DecodeWaitStatus(pid_t pid, int status) {
  ExitInfo info;
  info.pid = pid;
  if (WIFSIGNALED(status)) {
    info.signaled = true;
    info.code = WTERMSIG(status);
    info.core_dumped = WCOREDUMP(status);
  } else {
    info.code = WEXITSTATUS(status);
  }
  return info;
}

Status BoostSpawner::Signal(pid_t pid, int signo) { return Kill(pid, signo); }

std::vector<ExitInfo> BoostSpawner::Reap() { return ReapChildren(); }

std::vector<ExitInfo> ReapChildren() {
  std::vector<ExitInfo> out;
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      out.push_back(DecodeWaitStatus(pid, status));
      continue;
    }
    if (pid < 0 && errno == EINTR) continue;
    break;  // 0: none exited yet; ECHILD: no children
  }
  return out;
}

Status Kill(pid_t pid, int signo) {
  if (pid <= 0) return Status::InvalidArgument("kill: bad pid");
  if (::kill(pid, signo) != 0 && errno != ESRCH) return ErrnoStatus("kill", errno);
  return Status::Ok();
}

std::string SelfExecutable() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace tfpm::os
