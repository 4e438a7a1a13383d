#include "worker/supervisor_link.h"

#include <cerrno>

#include "base/worker_contract.h"
#include "os/fd_io.h"
#include "os/socket.h"

namespace tfpm::worker {

std::string RecycleLine(RecycleCause cause) {
  return std::string(worker_contract::kRecycleMessage) + std::string(RecycleCauseName(cause)) + "\n";
}

void NotifySocket::SendReady() {
  if (fd_ < 0) return;
  (void)os::WriteSome(fd_, kReadyLine);  // best effort (header)
}

void NotifySocket::SendDraining() {
  if (fd_ < 0) return;
  (void)os::SendSome(fd_, kDrainingLine, os::SendMode::kBlocking);  // best effort (header)
}

void NotifySocket::SendRecycle(RecycleCause cause) {
  if (fd_ < 0) return;
  // Never blocks the main thread: a full socket drops it, and the recycle
  // check sends it again a second later.
  (void)os::SendSome(fd_, RecycleLine(cause), os::SendMode::kDontWait);
}

SupervisorLink::Received NotifySocket::Receive() {
  Received r;
  if (fd_ < 0) return r;
  std::string data;
  const ssize_t n = os::ReceiveWithFds(fd_, &data, &r.fds);
  r.tag = data.empty() ? worker_contract::kTagConnection : data.back();
  r.closed = n == 0 || (n < 0 && errno != EAGAIN);
  return r;
}

}  // namespace tfpm::worker
