// WorkerLogFiles: the real LogFiles (worker/handover.h) of a worker
// process: the error log (base/log.h, at the descriptor the supervisor
// gave), the pool's access log (AccessLogFile) and its slowlog.
#pragma once

#include "worker/access_log_file.h"
#include "worker/handover.h"

namespace tfpm::worker {

class WorkerLogFiles final : public LogFiles {
 public:
  // -1 for a log the supervisor did not hand over. `access` must outlive this.
  WorkerLogFiles(int error_log_fd, AccessLogFile* access, int slowlog_fd)
      : error_log_fd_(error_log_fd), access_(access), slowlog_fd_(slowlog_fd) {}
  void ReopenOwn() override;
  void Replace(HandedKind kind, os::UniqueFd fd) override;

 private:
  const int error_log_fd_;
  AccessLogFile* const access_;
  const int slowlog_fd_;
};

}  // namespace tfpm::worker
