#include "worker/handover.h"

#include "base/worker_contract.h"

namespace tfpm::worker {

HandedKind KindOfTag(char tag) {
  switch (tag) {
    case worker_contract::kTagErrorLog: return HandedKind::kErrorLog;
    case worker_contract::kTagAccessLog: return HandedKind::kAccessLog;
    case worker_contract::kTagSlowlog: return HandedKind::kSlowlog;
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
