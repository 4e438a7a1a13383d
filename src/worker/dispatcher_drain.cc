// Dispatcher, part 5 of 5: draining: no new connections, waiting for
// kept connections to go quiet, handing them over to the supervisor and
// adopting the ones it hands us. See dispatcher.h.
#include "worker/dispatcher.h"
#include "worker/dispatcher_internal.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "base/clock.h"
#include "base/log.h"
#include "ipc/worker_process.h"
#include "base/utf8.h"
#include "os/event_fd.h"
#include "os/fd_io.h"
#include "os/resource_limits.h"
#include "os/socket.h"
#include "os/socket_io.h"
#include "worker/limit_report.h"


namespace tfpm::worker {

using namespace dispatcher_internal;  // NOLINT: this class's own constants

void Dispatcher::BeginDrain() {
  draining_.store(true, std::memory_order_release);
  for (const auto& l : listeners_) poller_->Remove(l.get());
}

bool Dispatcher::QuietFor(std::chrono::milliseconds quiet) {
  const int64_t now = base::MonotonicMillis();
  std::lock_guard lock(mu_);
  for (const Connection* c : connections_) {
    const int64_t since = c->idle_since_ms.load(std::memory_order_relaxed);
    if (since == 0 || now - since < quiet.count()) return false;
  }
  return true;
}

bool Dispatcher::HandOver(Connection* conn) {
  // Only at a request boundary with nothing read ahead: the new owner
  // starts parsing at the next record.
  if (options_.handoff_socket < 0 || handover_disabled_.load(std::memory_order_acquire) || conn->MidRequest() ||
      conn->HasBufferedInput() || conn->WantsWrite()) {
    return false;
  }
  if (!os::SendFd(options_.handoff_socket, conn->fd(), ipc::kTagConnection)) {
    log::Warning("handing over a kept connection failed ({}); closing it", std::strerror(errno));
    return false;
  }
  handed_over_.fetch_add(1, std::memory_order_relaxed);
  Close(conn);  // the descriptor in flight keeps the connection open
  return true;
}

void Dispatcher::Adopt(os::UniqueFd fd) {
  (void)os::SetNonBlocking(fd.get(), true);
  Park(Register(std::move(fd)));
}

}  // namespace tfpm::worker
