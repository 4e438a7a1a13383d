#include "supervisor/status_server.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "os/fd_io.h"
#include "os/socket_io.h"

namespace tfpm::supervisor {

StatusServer::StatusServer(os::Poller* poller, uint64_t listen_token, uint64_t client_token, Handler handler)
    : poller_(poller), listen_token_(listen_token), client_token_(client_token), handler_(std::move(handler)) {}

StatusServer::~StatusServer() {
  for (auto& [fd, c] : clients_) poller_->Remove(fd);
  for (auto& [fd, s] : served_) {
    if (s.watched) poller_->Remove(fd);
  }
}

void StatusServer::Watch(Served& s, bool on) {
  if (s.watched == on) return;
  const int fd = s.listener->fd.get();
  if (on) {
    s.watched = poller_->Add(fd, EPOLLIN, listen_token_ | static_cast<uint64_t>(fd)).ok();
  } else {
    poller_->Remove(fd);
    s.watched = false;
  }
}

void StatusServer::Serve(const std::string& pool, std::shared_ptr<Listener> listener, const StatusListenLimits& limits,
                         std::shared_ptr<const base::ClientFilter> clients) {
  const int fd = listener->fd.get();
  for (auto it = served_.begin(); it != served_.end(); ++it) {
    if (it->second.pool == pool && it->first != fd) {
      Stop(pool);
      break;
    }
  }
  Served& s = served_[fd];
  s.pool = pool;
  s.listener = std::move(listener);
  s.limits = limits;
  s.filter = std::move(clients);
  (void)counters_[pool];
  Watch(s, true);
}

void StatusServer::Stop(const std::string& pool) {
  for (auto it = served_.begin(); it != served_.end();) {
    if (it->second.pool != pool) {
      ++it;
      continue;
    }
    const int lfd = it->first;
    for (auto c = clients_.begin(); c != clients_.end();) {
      if (c->second.listen_fd != lfd) {
        ++c;
        continue;
      }
      poller_->Remove(c->first);
      c = clients_.erase(c);
    }
    Watch(it->second, false);
    it = served_.erase(it);
  }
}

std::shared_ptr<Listener> StatusServer::ListenerOf(const std::string& pool) const {
  for (const auto& [fd, s] : served_) {
    if (s.pool == pool) return s.listener;
  }
  return nullptr;
}

std::vector<std::string> StatusServer::Pools() const {
  std::vector<std::string> out;
  for (const auto& [fd, s] : served_) out.push_back(s.pool);
  return out;
}

void StatusServer::Count(const Served& s, Trip trip, const std::string& detail) {
  StatusListenCounters& k = counters_[s.pool];
  const char* what = "";
  switch (trip) {
    case Trip::kFull: ++k.refused_full; what = "connection closed: status_listen_max_clients connections open"; break;
    case Trip::kClients: ++k.refused_clients; what = "connection refused: client not in listen_allowed_clients"; break;
    case Trip::kTimeout: ++k.timed_out; what = "connection closed: no complete request within status_listen_timeout"; break;
    case Trip::kTooLarge: ++k.too_large; what = "connection closed: request over status_listen_max_request"; break;
    case Trip::kProtocol: ++k.protocol; what = "connection closed"; break;
    case Trip::kAcceptError: ++k.accept_errors; what = "accept() failed, pausing"; break;
  }
  uint64_t held = 0;
  if (!trip_log_[static_cast<int>(trip)].Allow(&held)) return;
  log::Warning("[pool {}] status_listen {}: {}{}{}", s.pool, s.listener->address.ToString(), what,
               detail.empty() ? "" : ": " + detail,
               held > 0 ? fmt::format(" ({} more like it not logged)", held) : std::string());
}

void StatusServer::OnListenEvent(int listen_fd, os::TimePoint now) {
  auto it = served_.find(listen_fd);
  if (it == served_.end()) return;
  Served& s = it->second;
  for (int i = 0; i < kAcceptsPerWake; ++i) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    os::Accepted a = os::AcceptConnection(listen_fd, &peer, &peer_len);
    if (!a.fd) {
      const int err = a.error;
      if (os::ResourceShortage(err)) {
        s.paused_until = now + kExhaustedPause;
        Watch(s, false);
        Count(s, Trip::kAcceptError, std::strerror(err));
      }
      return;  // EAGAIN: nothing more queued
    }
    const auto* peer_addr = reinterpret_cast<const sockaddr*>(&peer);
    if (s.filter && !s.filter->Allows(peer_addr, peer_len)) {
      Count(s, Trip::kClients, base::ClientFilter::PeerText(peer_addr, peer_len));
      continue;  // closes it
    }
    if (s.clients >= s.limits.max_clients) {
      Count(s, Trip::kFull, "");
      continue;  // closes it
    }
    ++counters_[s.pool].accepted;
    Client c;
    c.fd = std::move(a.fd);
    c.listen_fd = listen_fd;
    fastcgi::SessionLimits sl;
    sl.max_params_bytes = s.limits.max_request_bytes;
    sl.max_params = 1000;
    c.session = std::make_unique<fastcgi::ServerSession>(sl);
    c.deadline = now + s.limits.timeout;
    const int fd = c.fd.get();
    if (!poller_->Add(fd, EPOLLIN | EPOLLRDHUP, client_token_ | static_cast<uint64_t>(fd)).ok()) continue;
    ++s.clients;
    auto [cit, inserted] = clients_.emplace(fd, std::move(c));
    if (!Step(cit->second, now)) Close(fd);
  }
}

void StatusServer::OnClientEvent(int fd, uint32_t events, os::TimePoint now) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& c = it->second;
  if ((events & EPOLLOUT) != 0 && !Flush(c)) {
    Close(fd);
    return;
  }
  if (!Step(c, now)) Close(fd);
}

bool StatusServer::Flush(Client& c) {
  while (c.session->has_output()) {
    const std::string_view out = c.session->PendingOutput();
    auto sent = os::SendSome(c.fd.get(), out, os::SendMode::kDontWait);
    if (!sent.ok()) {
      if (!os::WouldBlock(sent.status())) return false;
      break;
    }
    c.session->ConsumeOutput(*sent);
    if (*sent == 0) break;
  }
  const bool want = c.session->has_output();
  if (want != c.want_write) {
    const uint32_t ev = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
    if (!poller_->Modify(c.fd.get(), ev, client_token_ | static_cast<uint64_t>(c.fd.get())).ok()) return false;
    c.want_write = want;
  }
  if (!want && c.closing) (void)os::Shutdown(c.fd.get(), os::ShutdownHow::kWrite);
  return true;
}

bool StatusServer::Step(Client& c, os::TimePoint now) {
  auto sit = served_.find(c.listen_fd);
  if (sit == served_.end()) return false;
  Served& s = sit->second;
  for (;;) {
    if (c.closing) {
      // Answered: read and drop the rest until the client closes, so the
      // kernel does not reset the connection under an unsent answer.
      char buf[4096];
      auto read = os::ReadSome(c.fd.get(), buf);
      if (!read.ok()) return os::WouldBlock(read.status());
      if (*read == 0) return false;  // the client closed
      c.drained += *read;
      if (c.drained > s.limits.max_request_bytes) return false;
      continue;
    }
    std::span<char> space = c.session->InputSpace();
    if (space.empty()) {
      Count(s, Trip::kTooLarge, "input buffer full");
      return false;
    }
    auto read = os::ReadSome(c.fd.get(), space);
    if (!read.ok()) {
      if (!os::WouldBlock(read.status())) return false;
      return Flush(c);
    }
    if (*read == 0) return false;  // the client closed
    c.session->CommitInput(*read);
    // Bytes received for one request (its records: BEGIN_REQUEST, PARAMS,
    // STDIN), counted from the previous answer.
    c.request_bytes += *read;
    if (c.request_bytes > s.limits.max_request_bytes) {
      Count(s, Trip::kTooLarge, fmt::format("over {} bytes", s.limits.max_request_bytes));
      return false;
    }
    for (bool more = true; more;) {
      const fastcgi::ServerSession::Event ev = c.session->Next();
      using E = fastcgi::ServerSession::EventType;
      switch (ev.type) {
        case E::kNeedMore: more = false; break;
        case E::kRequest: {
          // What is buffered already belongs to the next request (or to
          // the rest of this one's body, skipped).
          c.request_bytes = c.session->buffered_input();
          const std::string answer = handler_(s.pool, c.session->params());
          c.session->AppendStdout(answer);
          c.session->FinishRequest(0);
          ++counters_[s.pool].answered;
          ++c.answers;
          if (c.session->keep_conn()) {
            c.deadline = now + s.limits.timeout;
          } else {
            c.closing = true;
          }
          if (!Flush(c)) return false;
          if (c.session->output_size() > kMaxUnsentOutput) {
            Count(s, Trip::kTooLarge, "answers not read by the client");
            return false;
          }
          if (c.closing) more = false;
          break;
        }
        case E::kStdin:  // not seen: the request is finished at kRequest, its body skipped
        case E::kStdinEnd:
        case E::kAbort:
        case E::kRefused: break;
        case E::kClose:
          if (ev.reason == fastcgi::ServerSession::CloseReason::kParamsLimit) {
            Count(s, Trip::kTooLarge, std::string(ev.data));
          } else if (ev.reason == fastcgi::ServerSession::CloseReason::kProtocol) {
            Count(s, Trip::kProtocol, std::string(ev.data));
          } else {
            (void)Flush(c);
          }
          return false;
      }
    }
  }
}

void StatusServer::Close(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  if (auto s = served_.find(it->second.listen_fd); s != served_.end() && s->second.clients > 0) --s->second.clients;
  poller_->Remove(fd);
  clients_.erase(it);
}

void StatusServer::Expire(os::TimePoint now) {
  for (auto& [fd, s] : served_) {
    if (s.paused_until != os::TimePoint{} && now >= s.paused_until) {
      s.paused_until = os::TimePoint{};
      Watch(s, true);
    }
  }
  std::vector<int> expired;
  for (const auto& [fd, c] : clients_) {
    if (now >= c.deadline) expired.push_back(fd);
  }
  for (int fd : expired) {
    const Client& c = clients_.at(fd);
    // A client that got its answer and keeps the connection idle is closed
    // quietly; one that never completed a request is a trip.
    if (!c.closing && (c.answers == 0 || c.session->mid_request() || c.session->HasBufferedInput())) {
      Count(served_.at(c.listen_fd), Trip::kTimeout, "");
    }
    Close(fd);
  }
}

std::optional<os::TimePoint> StatusServer::NextDeadline() const {
  std::optional<os::TimePoint> next;
  for (const auto& [fd, s] : served_) {
    if (s.paused_until != os::TimePoint{} && (!next || s.paused_until < *next)) next = s.paused_until;
  }
  for (const auto& [fd, c] : clients_) {
    if (!next || c.deadline < *next) next = c.deadline;
  }
  return next;
}

}  // namespace tfpm::supervisor
