#include "worker/supervisor_link.h"

#include <cerrno>

#include "ipc/notify.h"
#include "os/fd_io.h"
#include "os/socket.h"

namespace tfpm::worker {

std::string RecycleLine(RecycleCause cause) {
  return ipc::Encode(cause == RecycleCause::kMemory ? ipc::Message::kRecycleMemory : ipc::Message::kRecycleMaxRequests);
}

void NotifySocket::SendReady() {
  if (fd_ < 0) return;
  (void)os::WriteSome(fd_, ipc::Encode(ipc::Message::kReady));  // best effort (header)
}

void NotifySocket::SendDraining() {
  if (fd_ < 0) return;
  (void)os::SendSome(fd_, ipc::Encode(ipc::Message::kDraining), os::SendMode::kBlocking);  // best effort (header)
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
  r.tag = ipc::SplitReceived(data, !r.fds.empty()).tag.value_or(ipc::kTagConnection);
  r.closed = n == 0 || (n < 0 && errno != EAGAIN);
  return r;
}

}  // namespace tfpm::worker
