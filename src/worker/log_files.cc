#include "worker/log_files.h"

#include "base/log.h"
#include "os/fd_io.h"

namespace tfpm::worker {
namespace {

// A log file the supervisor reopened, put under the number in use.
void ReplaceFd(int from, int to, const char* what) {
  if (Status st = os::DuplicateOnto(from, to); !st.ok()) log::Error("{}: {}", what, st.message());
}

}  // namespace

void WorkerLogFiles::ReopenOwn() {
  (void)log::Reopen();
  if (Status st = access_->Reopen(); !st.ok()) log::Error("{}", st.message());
}

void WorkerLogFiles::Replace(HandedKind kind, os::UniqueFd fd) {
  switch (kind) {
    case HandedKind::kErrorLog:
      if (error_log_fd_ >= 0) ReplaceFd(fd.get(), error_log_fd_, "error_log");
      break;
    case HandedKind::kAccessLog:
      if (Status st = access_->Replace(fd.Release()); !st.ok()) log::Error("{}", st.message());
      break;
    case HandedKind::kSlowlog:
      if (slowlog_fd_ >= 0) ReplaceFd(fd.get(), slowlog_fd_, "slowlog");
      break;
    case HandedKind::kConnection: break;
  }
}

}  // namespace tfpm::worker
