#include "worker/handover.h"

#include "ipc/worker_process.h"

namespace tfpm::worker {

HandedKind KindOfTag(char tag) {
  switch (tag) {
    case ipc::kTagErrorLog: return HandedKind::kErrorLog;
    case ipc::kTagAccessLog: return HandedKind::kAccessLog;
    case ipc::kTagSlowlog: return HandedKind::kSlowlog;
    default: return HandedKind::kConnection;
  }
}

void DeliverHanded(char tag, std::vector<os::UniqueFd>& fds, DispatcherControl& server, LogFiles& logs) {
  const HandedKind kind = KindOfTag(tag);
  for (os::UniqueFd& fd : fds) {
    if (kind == HandedKind::kConnection) {
      server.Adopt(std::move(fd));
    } else {
      logs.Replace(kind, std::move(fd));
    }
  }
}

}  // namespace tfpm::worker
