// Descriptors the supervisor hands a worker process over its notify socket
// (ipc/worker_process.h tags): kept FastCGI connections of a draining
// older generation, which this process serves from their next request on,
// and log files the supervisor reopened, which replace the ones in use
// under the same number.
//
// Thread-safety: the main thread only.
#pragma once

#include <vector>

#include "os/unique_fd.h"
#include "worker/dispatcher_control.h"

namespace tfpm::worker {

enum class HandedKind { kConnection, kErrorLog, kAccessLog, kSlowlog };
// By its tag; an unknown tag is a connection (as the supervisor's oldest
// messages carried no tag).
HandedKind KindOfTag(char tag);

// The log files a worker process writes, as the main thread manages them.
class LogFiles {
 public:
  virtual ~LogFiles() = default;
  // SIGUSR1: reopen by path the files this process opened itself.
  virtual void ReopenOwn() = 0;
  // Puts `fd` (a reopened file from the supervisor) in place of the log of
  // `kind` (not kConnection); a log this process does not write is dropped.
  virtual void Replace(HandedKind kind, os::UniqueFd fd) = 0;
};

// Delivers descriptors received with `tag`: connections to server.Adopt,
// log files to logs.Replace.
void DeliverHanded(char tag, std::vector<os::UniqueFd>& fds, DispatcherControl& server, LogFiles& logs);

}  // namespace tfpm::worker
