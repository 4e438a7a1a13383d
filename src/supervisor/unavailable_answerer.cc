#include "supervisor/unavailable_answerer.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "fastcgi/protocol.h"
#include "os/fd_io.h"
#include "os/socket_io.h"
#include "supervisor/unavailable.h"

namespace tfpm::supervisor {
namespace {

constexpr std::string_view kBody = "Service Unavailable\n";
// Bytes kept while looking for the BEGIN_REQUEST: one whole record at most
// (whole records before it are dropped as they are parsed).
constexpr size_t kMaxPending = fastcgi::kHeaderLength + fastcgi::kMaxContentLength + 255;

}  // namespace

UnavailableAnswerer::UnavailableAnswerer(os::Poller* poller, uint64_t token_base, Limits limits)
    : poller_(poller), token_base_(token_base), limits_(limits) {}

UnavailableAnswerer::~UnavailableAnswerer() {
  for (auto& [fd, c] : clients_) poller_->Remove(fd);
}

int UnavailableAnswerer::AcceptFrom(int listen_fd, const std::shared_ptr<const std::string>& why,
                                    os::TimePoint now, const base::ClientFilter* clients,
                                    std::vector<std::string>* refused) {
  int accepted = 0;
  while (CanAccept(now)) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    os::Accepted a = os::AcceptConnection(listen_fd, &peer, &peer_len);
    if (!a.fd) {
      const int err = a.error;
      if (os::ResourceShortage(err)) {
        // The connection stays queued and the socket readable: pause, or
        // the loop would spin on it.
        ++exhausted_;
        paused_until_ = now + limits_.exhausted_pause;
        if (now - exhausted_logged_at_ >= std::chrono::seconds(10)) {
          log::Error("answering a failed pool: accept(): {} ({} time(s) so far); pausing {} ms",
                     std::strerror(err), exhausted_, limits_.exhausted_pause.count());
          exhausted_logged_at_ = now;
        }
      }
      break;  // EAGAIN: a worker may have taken it
    }
    Client c;
    c.fd = std::move(a.fd);
    const int fd = c.fd.get();
    const auto* peer_addr = reinterpret_cast<const sockaddr*>(&peer);
    if (clients != nullptr && !clients->Allows(peer_addr, peer_len)) {
      if (refused != nullptr) refused->push_back(base::ClientFilter::PeerText(peer_addr, peer_len));
      continue;  // closes it
    }
    ++accepted;
    c.why = why;
    c.close_at = now + limits_.lifetime;
    if (!Step(c)) continue;  // answered and closed at once, or a broken client
    if (!poller_->Add(fd, EPOLLIN | EPOLLRDHUP, token_base_ | static_cast<uint64_t>(fd)).ok()) continue;
    clients_.emplace(fd, std::move(c));
  }
  return accepted;
}

bool UnavailableAnswerer::Step(Client& c) {
  char buf[16384];
  for (;;) {
    auto read = os::ReadSome(c.fd.get(), buf);
    if (!read.ok()) return os::WouldBlock(read.status());  // nothing more now, or a broken client
    const size_t n = *read;
    if (n == 0) return false;  // the client closed
    if (c.answered) {
      c.discarded += n;
      if (c.discarded > limits_.max_discard) return false;
      continue;
    }
    c.in.append(buf, n);
    const BeginScan scan = ScanForBeginRequest(c.in);
    if (scan.result == BeginScan::Result::kInvalid) return false;
    if (scan.result == BeginScan::Result::kNeedMore) {
      c.in.erase(0, scan.consumed);
      if (c.in.size() > kMaxPending) return false;
      continue;
    }
    const std::string out = UnavailableResponse(scan.request_id, *c.why, kBody);
    auto sent = os::SendSome(c.fd.get(), out, os::SendMode::kDontWait);
    if (!sent.ok() || *sent != out.size()) return false;
    ++answered_;
    c.answered = true;
    c.discarded = c.in.size() - scan.consumed;
    c.in.clear();
    c.in.shrink_to_fit();
    // A client that already reset the connection is closed at its next
    // event either way (socket_io.h).
    (void)os::Shutdown(c.fd.get(), os::ShutdownHow::kWrite);
  }
}

void UnavailableAnswerer::OnEvent(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  if (!Step(it->second)) Close(fd);
}

void UnavailableAnswerer::Close(int fd) {
  poller_->Remove(fd);
  clients_.erase(fd);  // closes it
}

void UnavailableAnswerer::Expire(os::TimePoint now) {
  if (paused_until_ != os::TimePoint{} && now >= paused_until_) paused_until_ = os::TimePoint{};
  for (auto it = clients_.begin(); it != clients_.end();) {
    if (now < it->second.close_at) {
      ++it;
      continue;
    }
    poller_->Remove(it->first);
    it = clients_.erase(it);
  }
}

std::optional<os::TimePoint> UnavailableAnswerer::NextDeadline() const {
  std::optional<os::TimePoint> next;
  if (paused_until_ != os::TimePoint{}) next = paused_until_;  // cleared by Expire once passed
  for (const auto& [fd, c] : clients_) {
    if (!next || c.close_at < *next) next = c.close_at;
  }
  return next;
}

}  // namespace tfpm::supervisor
