// Signals as readable events: SignalFd blocks a set of signals in the calling
// thread (call it before any thread starts so every thread inherits the
// mask) and delivers them through a signalfd to an event loop.
#pragma once

#include <signal.h>

#include <initializer_list>
#include <vector>

#include "base/status.h"
#include "os/unique_fd.h"

namespace tfpm::os {

struct SignalInfo {
  int signo = 0;
  pid_t sender_pid = 0;
};

class SignalFd {
 public:
  // Blocks `signals` (pthread_sigmask) and opens a non-blocking signalfd.
  static Result<SignalFd> Create(std::initializer_list<int> signals);

  int fd() const { return fd_.get(); }
  // Drains pending signals; empty when none are pending.
  std::vector<SignalInfo> Read();

 private:
  explicit SignalFd(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// Async-signal-safe: unblocks every signal and restores default dispositions.
// Used in a forked child before exec, since both survive exec.
void ResetSignalsForExec();

// Ignores SIGPIPE process-wide: write errors come back as EPIPE instead.
void IgnoreSigpipe();

}  // namespace tfpm::os
