#include "worker/status_client.h"

#include <poll.h>

#include <chrono>
#include <vector>

#include "ipc/worker_process.h"
#include "os/fd_io.h"
#include "os/socket.h"
#include "os/unique_fd.h"

namespace tfpm::worker {

std::string QueryPoolStatus(int notify_fd, bool full) {
  if (notify_fd < 0) return "";
  auto pair = os::StreamSocketPair();
  if (!pair.ok()) return "";
  os::UniqueFd mine = std::move(pair->first), theirs = std::move(pair->second);
  if (!os::SendFd(notify_fd, theirs.get(), full ? ipc::kTagStatusFull : ipc::kTagStatus)) return "";
  theirs.Reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "";
    pollfd p{mine.get(), POLLIN, 0};
    auto n = os::Poll({&p, 1}, static_cast<int>(left.count()));
    if (!n.ok()) return "";
    if (*n > 0) break;
  }
  std::string tag;
  std::vector<os::UniqueFd> fds;
  if (os::ReceiveWithFds(mine.get(), &tag, &fds) <= 0 || fds.size() != 1) return "";
  auto json = os::ReadAllAt(fds[0].get(), 0);
  return json.ok() ? std::move(json.value()) : "";
}

}  // namespace tfpm::worker
