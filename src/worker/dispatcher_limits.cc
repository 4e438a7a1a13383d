// Dispatcher, part 3 of 5: the connection limits: accept() with the
// descriptor ceiling and max_connections, eviction of the oldest idle
// connection, the accept back-off, and Tick's idle/header timeouts. See
// dispatcher.h.
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

os::UniqueFd Dispatcher::AcceptOne(size_t li) {
  const int lfd = listeners_[li].get();
  sockaddr_storage peer{};
  socklen_t peer_len = sizeof(peer);
  os::Accepted accepted = os::AcceptConnection(lfd, &peer, &peer_len);
  const int err = accepted.error;
  if (!accepted.fd && ResourceShortage(err)) {
    PauseListener(li, err);
    return os::UniqueFd();
  }
  // Let the next thread accept while this one serves.
  if (!draining_.load(std::memory_order_acquire)) {
    (void)poller_->Modify(lfd, EPOLLIN | EPOLLONESHOT, (static_cast<uint64_t>(li) << 1) | 1);
  }
  if (!accepted.fd) {
    if (err != EAGAIN && err != EINTR && err != ECONNABORTED) {
      TripLimit(conn_config_.board, scoreboard::Limit::kAcceptErrors,
                fmt::format("accept() failed: {}", std::strerror(err)));
    }
    return os::UniqueFd();
  }
  os::UniqueFd conn = std::move(accepted.fd);
  const int fd = conn.get();
  if (backoff_[li].delay_ms.load(std::memory_order_relaxed) != 0) {
    backoff_[li].delay_ms.store(0, std::memory_order_relaxed);
  }
  const auto* peer_addr = reinterpret_cast<const sockaddr*>(&peer);
  if (!conn_config_.allowed_clients.Allows(peer_addr, peer_len)) {
    // php-fpm drops such a connection before reading a byte; so do we.
    TripLimit(conn_config_.board, scoreboard::Limit::kClientsRefused,
              fmt::format("connection refused: client {} is not in listen_allowed_clients",
                          base::ClientFilter::PeerText(peer_addr, peer_len)));
    return os::UniqueFd();  // closes it
  }
  if (fd >= fd_ceiling_ - kEvictSlack && fd < fd_ceiling_) {
    // Close to the reserve: the connection idle longest makes room, so the
    // descriptors in use stay below it and new connections keep coming in.
    if (EvictOldest()) {
      TripLimit(conn_config_.board, scoreboard::Limit::kAcceptErrors,
                fmt::format("descriptors nearly exhausted (descriptor {}): closed the connection idle longest; "
                            "raise rlimit_files or lower max_connections",
                            fd));
    }
  } else if (fd >= fd_ceiling_) {
    // Refused (it would eat into the reserve), and the connection idle
    // longest is ended so the next one finds room below the reserve.
    const bool evicted = EvictOldest();
    TripLimit(conn_config_.board, scoreboard::Limit::kAcceptErrors,
              fmt::format("connection refused: descriptor {} is in the reserve kept for PHP (from {} on){}; "
                          "raise rlimit_files or lower max_connections",
                          fd, fd_ceiling_, evicted ? ", closed the connection idle longest" : ""));
    return os::UniqueFd();
  }
  size_t open = 0;
  {
    std::lock_guard lock(mu_);
    open = connections_.size();
  }
  if (open >= conn_config_.max_connections) {
    TripLimit(conn_config_.board, scoreboard::Limit::kMaxConnections,
              fmt::format("connection refused: {} connections open in this process (max_connections)", open));
    return os::UniqueFd();  // closes it
  }
  return conn;
}

// As nginx does when it runs out of connections: make room by ending the
// connection that has waited longest without a complete request (parked
// idle, or holding half of one), so a process that one client filled with
// idle connections still serves the others.
bool Dispatcher::EvictOldest() {
  std::lock_guard lock(mu_);
  Connection* oldest = nullptr;
  int64_t oldest_since = 0;
  for (Connection* c : connections_) {
    const int64_t idle = c->idle_since_ms.load(std::memory_order_relaxed);
    const int64_t since = idle != 0 ? idle : c->partial_since_ms.load(std::memory_order_relaxed);
    if (since == 0 || c->expired.load(std::memory_order_relaxed)) continue;
    if (oldest == nullptr || since < oldest_since) {
      oldest = c;
      oldest_since = since;
    }
  }
  if (oldest == nullptr || oldest->expired.exchange(true, std::memory_order_acq_rel)) return false;
  // Its thread closes it on the EOF; one the peer already reset ends anyway.
  (void)os::Shutdown(oldest->fd(), os::ShutdownHow::kBoth);
  return true;
}

void Dispatcher::PauseListener(size_t li, int err) {
  const bool evicted = EvictOldest();
  Backoff& b = backoff_[li];
  int64_t delay = 0;
  if (evicted) {
    // A descriptor is about to be freed: try again at once (each failure
    // evicts another connection, so this ends when none is left to evict).
    if (!draining_.load(std::memory_order_acquire)) {
      (void)poller_->Modify(listeners_[li].get(), EPOLLIN | EPOLLONESHOT, (static_cast<uint64_t>(li) << 1) | 1);
    }
  } else {
    delay = std::clamp<int64_t>(b.delay_ms.load(std::memory_order_relaxed) * 2, kFirstBackoffMs, kMaxBackoffMs);
    b.delay_ms.store(delay, std::memory_order_relaxed);
    b.resume_ms.store(base::MonotonicMillis() + delay, std::memory_order_release);
  }
  TripLimit(conn_config_.board, scoreboard::Limit::kAcceptErrors,
            evicted ? fmt::format("accept() failed: {}; closed the connection idle longest to make room "
                                  "(raise rlimit_files or lower max_connections)",
                                  std::strerror(err))
                    : fmt::format("accept() failed: {}; not accepting for {} ms (raise rlimit_files or lower "
                                  "max_connections)",
                                  std::strerror(err), delay));
}

std::chrono::milliseconds Dispatcher::Tick() {
  const int64_t now = base::MonotonicMillis();
  int64_t next = kTickMs;
  const bool draining = draining_.load(std::memory_order_acquire);
  for (size_t i = 0; i < listeners_.size(); ++i) {
    Backoff& b = backoff_[i];
    int64_t resume = b.resume_ms.load(std::memory_order_acquire);
    if (resume == 0) continue;
    if (now < resume) {
      next = std::min(next, resume - now);
      continue;
    }
    if (!b.resume_ms.compare_exchange_strong(resume, 0, std::memory_order_acq_rel)) continue;
    if (!draining) (void)poller_->Modify(listeners_[i].get(), EPOLLIN | EPOLLONESHOT, (static_cast<uint64_t>(i) << 1) | 1);
  }
  // Connections are deleted under mu_ (Close): while we hold it, each fd
  // below is still the connection's own.
  std::lock_guard lock(mu_);
  for (Connection* c : connections_) {
    const int64_t idle = c->idle_since_ms.load(std::memory_order_relaxed);
    const int64_t partial = c->partial_since_ms.load(std::memory_order_relaxed);
    scoreboard::Limit limit;
    if (idle != 0 && now - idle >= conn_config_.idle_timeout_ms) {
      limit = scoreboard::Limit::kIdleTimeout;
    } else if (partial != 0 && now - partial >= conn_config_.header_timeout_ms) {
      limit = scoreboard::Limit::kHeaderTimeout;
    } else {
      continue;
    }
    if (c->expired.exchange(true, std::memory_order_acq_rel)) continue;
    // Counted before the client can see the close.
    TripLimit(conn_config_.board, limit,
              limit == scoreboard::Limit::kIdleTimeout
                  ? fmt::format("kept connection closed: idle for {} ms (connection_idle_timeout)", now - idle)
                  : fmt::format("connection closed: request incomplete after {} ms (request_header_timeout)",
                                now - partial));
    (void)os::Shutdown(c->fd(), os::ShutdownHow::kBoth);  // as in EvictOldest
  }
  return std::chrono::milliseconds(next);
}

}  // namespace tfpm::worker
