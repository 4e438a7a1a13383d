// Starting in the background as php-fpm does by default (daemonize): the
// process forks; the parent waits until the child reports whether it
// started (its first workers are ready, or failed) and exits with that
// result, so `tfpm && next-step` sees the outcome. The child leaves the
// terminal's session and reads stdin from /dev/null.
#pragma once

#include "base/status.h"
#include "os/unique_fd.h"

namespace tfpm::os {

// The child's end of the report.
class StartReport {
 public:
  StartReport() = default;
  explicit StartReport(UniqueFd fd) : fd_(std::move(fd)) {}

  // Whether a report is still owed to a waiting parent.
  bool pending() const { return fd_.valid(); }
  // Reports once and closes. Before that the process lets go of the
  // terminal: stdout, and stderr unless `keep_stderr` (it is the
  // configured log), go to /dev/null.
  void Send(bool started, bool keep_stderr);
  // Reports failure without touching stdout and stderr (the daemon is about
  // to exit and its last message should still reach the terminal).
  void Fail();

 private:
  UniqueFd fd_;
};

struct Detached {
  bool in_parent = false;
  int parent_exit_code = 1;  // in the parent: 0 if the child reported success
  StartReport report;        // in the child
};

// Forks. The parent waits for the child's report and returns in_parent
// with its exit code (1 if the child died without reporting). The child
// returns with `report` pending. Errors (pipe, fork) happen before any
// fork: "pipe: <strerror>".
Result<Detached> DetachFromTerminal();

}  // namespace tfpm::os
