#include "worker/server.h"

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

namespace {
// How long a thread waits for the first request of a connection it has
// just accepted before parking it (Drive).
constexpr int kFirstRequestWaitMs = 5;

// epoll tokens: odd = listener (index << 1 | 1), kWakeToken, kRetireToken,
// else a Connection* (always 8-byte aligned, so never odd, 2 or 4).
constexpr uint64_t kWakeToken = 2;
constexpr uint64_t kRetireToken = 4;
constexpr uint32_t kConnEvents = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
// How often the main thread's Tick looks for expired connections.
constexpr int64_t kTickMs = 250;
// accept() back-off after EMFILE & co.: doubled from the first to the last.
constexpr int64_t kFirstBackoffMs = 10, kMaxBackoffMs = 1000;

// Descriptors kept free for PHP below the soft RLIMIT_NOFILE (at least;
// 4 per thread if more).
constexpr int kFdReserve = 16;
// Below the reserve, the last descriptors that make an idle connection go.
constexpr int kEvictSlack = 8;

bool ResourceShortage(int err) { return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM; }

}  // namespace

Server::Server(ServerOptions options, std::vector<os::UniqueFd> listeners, scoreboard::Segment* board)
    : options_(std::move(options)), listeners_(std::move(listeners)), board_(board) {
  conn_config_ = options_.connection;
  if (conn_config_.board == nullptr && board_ != nullptr) conn_config_.board = board_->header();
  backoff_ = std::make_unique<Backoff[]>(listeners_.size());
  // With a hand-off socket a draining worker never ends a kept connection.
  conn_config_.draining = options_.handoff_socket >= 0 ? nullptr : &draining_;
}

Server::~Server() {
  for (Connection* c : connections_) delete c;
}

Status Server::Start(ThreadMain thread_main, int initial) {
  auto poller = os::Poller::Create();
  if (!poller.ok()) return poller.status();
  poller_.emplace(std::move(poller.value()));
  auto wake = os::CreateEventFd();
  if (!wake.ok()) return wake.status();
  wake_fd_ = std::move(wake.value());
  Status st = poller_->Add(wake_fd_.get(), EPOLLIN, kWakeToken);
  if (!st.ok()) return st;
  // Never read: once written it stays readable, and EPOLLONESHOT makes each
  // arming wake exactly one waiting thread.
  auto retire = os::CreateEventFd();
  if (!retire.ok()) return retire.status();
  retire_fd_ = std::move(retire.value());
  st = poller_->Add(retire_fd_.get(), EPOLLIN | EPOLLONESHOT, kRetireToken);
  if (!st.ok()) return st;
  for (size_t i = 0; i < listeners_.size(); ++i) {
    st = poller_->Add(listeners_[i].get(), EPOLLIN | EPOLLONESHOT, (i << 1) | 1);
    if (!st.ok()) return st;
  }
  const int reserve = std::max(kFdReserve, 4 * options_.threads);
  fd_ceiling_ = static_cast<int>(std::min<uint64_t>(os::SoftFileLimit(), 1 << 30)) - reserve;
  thread_main_ = std::move(thread_main);
  for (int i = 0; i < options_.threads; ++i) {
    ThreadRec& t = threads_.emplace_back();
    t.server = this;
    t.index = i;
  }
  pthread_attr_init(&attr_);
  pthread_attr_setstacksize(&attr_, options_.thread_stack_size);
  attr_ready_ = true;
  for (int i = 0; i < std::min(initial, options_.threads); ++i) {
    ThreadRec& t = threads_[static_cast<size_t>(i)];
    MarkStarting(i);
    t.run.store(kRunning, std::memory_order_relaxed);  // before it runs: it may exit at once
    const int rc = pthread_create(&t.handle, &attr_, &Server::ThreadEntry, &t);
    if (rc != 0) {
      t.run.store(kFree, std::memory_order_relaxed);
      return ErrnoStatus("pthread_create", rc);
    }
  }
  return Status::Ok();
}

void* Server::ThreadEntry(void* arg) {
  auto* t = static_cast<ThreadRec*>(arg);
  char name[16];
  std::snprintf(name, sizeof(name), "php-%d", t->index);
  pthread_setname_np(pthread_self(), name);
  // Nothing may escape a thread body (std::terminate would take every
  // request of the process with it): the thread ends, the process serves on.
  try {
    t->server->thread_main_(t->index, *t->server);
  } catch (const std::exception& e) {
    log::Error("PHP thread {} ended by an internal error: {}", t->index, e.what());
  } catch (...) {
    log::Error("PHP thread {} ended by an internal error", t->index);
  }
  t->run.store(kExited, std::memory_order_release);
  return nullptr;
}

// The slot counts as a thread (Starting) from now on, not only once the
// thread runs: a status read right after the process said "ready" sees it.
// The thread is not running yet, so its slot still has no other writer.
void Server::MarkStarting(int index) {
  if (board_ != nullptr) {
    scoreboard::SlotWriter(board_->slot(static_cast<uint32_t>(index))).SetState(scoreboard::ThreadState::kStarting);
  }
}

void Server::JoinExited() {
  for (ThreadRec& t : threads_) {
    if (t.run.load(std::memory_order_acquire) != kExited) continue;
    pthread_join(t.handle, nullptr);
    t.run.store(kFree, std::memory_order_relaxed);
  }
}

bool Server::StartThread() {
  if (!attr_ready_ || stopping_.load(std::memory_order_acquire)) return false;
  JoinExited();
  for (ThreadRec& t : threads_) {
    if (t.run.load(std::memory_order_acquire) != kFree) continue;
    // Before the thread runs: it may exit (and store kExited) at once.
    MarkStarting(t.index);
    t.run.store(kRunning, std::memory_order_relaxed);
    const int rc = pthread_create(&t.handle, &attr_, &Server::ThreadEntry, &t);
    if (rc != 0) {
      t.run.store(kFree, std::memory_order_relaxed);
      log::Error("starting a PHP thread: {}", std::strerror(rc));
      return false;
    }
    return true;
  }
  return false;
}

int Server::live_threads() {
  int n = 0;
  for (const ThreadRec& t : threads_) {
    if (t.run.load(std::memory_order_acquire) == kRunning) ++n;
  }
  return std::max(0, n - retire_.load(std::memory_order_acquire));
}

void Server::RetireThreads(int n) {
  if (n <= 0) return;
  retire_.fetch_add(n, std::memory_order_acq_rel);
  if (Status st = os::SignalEventFd(retire_fd_.get()); !st.ok()) log::Error("retiring threads: {}", st.message());
  ArmRetire();
}

int Server::CancelRetires() { return retire_.exchange(0, std::memory_order_acq_rel); }

void Server::ArmRetire() {
  (void)poller_->Modify(retire_fd_.get(), EPOLLIN | EPOLLONESHOT, kRetireToken);
}

// Called by the one thread the armed token woke. Every increment of
// retire_ is followed by an arming, and a taker that leaves requests
// behind re-arms: while retire_ > 0 the token is armed or being handled.
bool Server::TakeRetire() {
  int n = retire_.load(std::memory_order_acquire);
  while (n > 0 && !retire_.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel)) {
  }
  if (n <= 0) return false;  // withdrawn by CancelRetires
  if (n > 1) ArmRetire();
  return true;
}

bool Server::Pending() {
  std::vector<pollfd> pfds;
  {
    std::lock_guard lock(mu_);
    for (Connection* c : connections_) pfds.push_back({c->fd(), POLLIN, 0});
  }
  if (!draining_.load(std::memory_order_acquire)) {
    for (const auto& l : listeners_) pfds.push_back({l.get(), POLLIN, 0});
  }
  if (auto n = os::Poll(pfds, 0); !n.ok() || *n <= 0) return false;
  for (const pollfd& p : pfds) {
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) return true;
  }
  return false;
}

std::vector<int> Server::listener_fds() const {
  std::vector<int> out;
  for (const auto& l : listeners_) out.push_back(l.get());
  return out;
}

bool Server::ServeOne(int index, const Handler& handler) {
  ThreadRec& self = threads_[static_cast<size_t>(index)];
  if (self.carry != nullptr && !stopping_.load(std::memory_order_acquire)) {
    Connection* conn = self.carry;
    const bool ready = self.carry_ready;
    self.carry = nullptr;
    busy_.fetch_add(1, std::memory_order_acq_rel);
    partial_.fetch_sub(1, std::memory_order_acq_rel);
    Drive(conn, index, handler, ready ? DriveFrom::kRequestRead : DriveFrom::kRead);
    busy_.fetch_sub(1, std::memory_order_acq_rel);
    return true;
  }
  for (;;) {
    if (stopping_.load(std::memory_order_acquire)) return false;
    epoll_event ev;
    if (poller_->Wait({&ev, 1}, std::chrono::milliseconds(-1)) != 1) continue;
    const uint64_t token = ev.data.u64;
    if (token == kWakeToken) return false;
    if (token == kRetireToken) {
      // This thread holds nothing (no connection, no carry): it can go.
      if (!TakeRetire()) continue;
      self.run.store(kExiting, std::memory_order_release);
      return false;
    }
    busy_.fetch_add(1, std::memory_order_acq_rel);
    if (token & 1) {
      Accept(static_cast<int>(token >> 1), index, handler);
    } else {
      auto* conn = reinterpret_cast<Connection*>(token);
      conn->Acquire();
      conn->idle_since_ms.store(0, std::memory_order_relaxed);
      conn->partial_since_ms.store(0, std::memory_order_relaxed);
      if (conn->parked_partial) {
        conn->parked_partial = false;
        partial_.fetch_sub(1, std::memory_order_acq_rel);
      }
      Drive(conn, index, handler);
    }
    busy_.fetch_sub(1, std::memory_order_acq_rel);
    return true;
  }
}

void Server::Accept(int listener, int index, const Handler& handler) {
  // Draining began after this thread was woken: leave the connection to
  // the new generation.
  if (draining_.load(std::memory_order_acquire)) return;
  os::UniqueFd fd = AcceptOne(static_cast<size_t>(listener));
  if (!fd) return;
  auto* conn = new Connection(std::move(fd), &conn_config_);
  conn->id = next_connection_id_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mu_);
    connections_.insert(conn);
  }
  Drive(conn, index, handler, DriveFrom::kJustAccepted);
}

os::UniqueFd Server::AcceptOne(size_t li) {
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
bool Server::EvictOldest() {
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

void Server::PauseListener(size_t li, int err) {
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

std::chrono::milliseconds Server::Tick() {
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

void Server::Drive(Connection* conn, int index, const Handler& handler, DriveFrom from) {
  bool ready = from == DriveFrom::kRequestRead;
  bool fresh = from == DriveFrom::kJustAccepted;
  scoreboard::SlotWriter slot(board_ ? board_->slot(static_cast<uint32_t>(index)) : nullptr);
  for (;;) {
    if (!ready) {
      const std::optional<Connection::Progress> progress = ReadGuarded(conn);
      if (!progress) return;
      switch (*progress) {
        case Connection::Progress::kClose:
          Close(conn);
          return;
        case Connection::Progress::kNeedMore:
          // A web server sends its request right after connecting, but our
          // accept can win the race against those bytes. Parking the new
          // connection would send this thread back to the listener for
          // another one; when its process's threads are then all busy, that
          // one waits here although another process (pm dynamic: one
          // started for it) is idle. So wait briefly for the first request
          // of a new connection; a client that sends nothing is parked.
          if (fresh) {
            fresh = false;
            pollfd p{conn->fd(), POLLIN, 0};
            if (auto n = os::Poll({&p, 1}, kFirstRequestWaitMs); n.ok() && *n > 0) continue;
          }
          Park(conn);
          return;
        case Connection::Progress::kRequestReady:
          conn->partial_start_ms = 0;
          break;
      }
    }
    ready = false;
    Disposition d = Disposition::kServed;
    try {
      d = handler(*conn, slot);
    } catch (const std::exception& e) {
      if (board_ != nullptr) slot.SetState(scoreboard::ThreadState::kIdle);
      Failed(conn, "a request", e.what());
      return;
    } catch (...) {
      if (board_ != nullptr) slot.SetState(scoreboard::ThreadState::kIdle);
      Failed(conn, "a request", "unknown exception");
      return;
    }
    if (d == Disposition::kDeferred) {
      Carry(conn, index, true);
      return;
    }
    served_.fetch_add(1, std::memory_order_relaxed);
    // Only a request the client pipelined is served right away; otherwise
    // the connection waits its turn in the epoll set, even if its next
    // request has already arrived (after fastcgi_finish_request() it
    // usually has: serving it here would let this connection keep the
    // thread while other connections starve).
    const bool pipelined = conn->DropFinishedInput();
    const bool draining = draining_.load(std::memory_order_acquire);
    if (draining && conn->keep_conn() && conn->reusable() && !pipelined && HandOver(conn)) return;
    if (!conn->keep_conn() || !conn->reusable() || draining) {
      Close(conn);
      return;
    }
    if (!pipelined) {
      Park(conn);
      return;
    }
    if (d == Disposition::kServedStop) {
      Carry(conn, index, false);
      return;
    }
  }
}

std::optional<Connection::Progress> Server::ReadGuarded(Connection* conn) {
  try {
    return conn->ReadRequest();
  } catch (const std::exception& e) {
    Failed(conn, "reading a request", e.what());
  } catch (...) {
    Failed(conn, "reading a request", "unknown exception");
  }
  return std::nullopt;
}

void Server::Failed(Connection* conn, std::string_view what, std::string_view why) {
  internal_errors_.fetch_add(1, std::memory_order_relaxed);
  uint64_t held = 0;
  bool log_it;
  {
    std::lock_guard lock(error_log_mu_);
    log_it = error_log_.Allow(&held);
  }
  if (log_it) {
    log::Error("internal error while handling {} on connection {}; closing it: {}{}", what, conn->id,
               base::EscapeForLog(why),
               held > 0 ? fmt::format(" ({} more since the last such line)", held) : std::string());
  }
  Close(conn);
}

void Server::Carry(Connection* conn, int index, bool ready) {
  ThreadRec& self = threads_[static_cast<size_t>(index)];
  self.carry = conn;
  self.carry_ready = ready;
  partial_.fetch_add(1, std::memory_order_acq_rel);  // keeps a drain waiting for it
}

int Server::ShedOverdue(std::chrono::milliseconds max_wait) {
  if (busy_.load(std::memory_order_acquire) < options_.threads || draining_.load(std::memory_order_acquire)) {
    ready_since_.clear();  // a thread is free: nobody waits for one
    return 0;
  }
  const int64_t now = base::MonotonicMicros();
  const int64_t limit = std::chrono::duration_cast<std::chrono::microseconds>(max_wait).count();
  // Which connections and listeners have bytes (or connections) waiting:
  // poll() only looks, it takes nothing from the epoll set.
  std::vector<pollfd> pfds;
  std::vector<uint64_t> keys;
  std::vector<int64_t> parked;
  {
    std::lock_guard lock(mu_);
    for (Connection* c : connections_) {
      pfds.push_back({c->fd(), POLLIN, 0});
      keys.push_back(c->id);
      parked.push_back(c->parked_us.load(std::memory_order_relaxed));
    }
  }
  for (size_t i = 0; i < listeners_.size(); ++i) {
    pfds.push_back({listeners_[i].get(), POLLIN, 0});
    keys.push_back(~static_cast<uint64_t>(i));
    parked.push_back(0);
  }
  if (!os::Poll(pfds, 0, os::OnSignal::kReport).ok()) return 0;  // look again next time
  std::unordered_map<uint64_t, int64_t> seen;
  bool overdue = false;
  for (size_t i = 0; i < pfds.size(); ++i) {
    if (!(pfds[i].revents & POLLIN)) continue;
    auto it = ready_since_.find(keys[i]);
    int64_t since = it != ready_since_.end() ? it->second : now;
    // Readable since before its last park: that was the previous request.
    if (since < parked[i]) since = now;
    seen[keys[i]] = since;
    if (now - since >= limit) overdue = true;
  }
  ready_since_ = std::move(seen);
  if (!overdue) return 0;
  // Take ready events as a PHP thread would (EPOLLONESHOT: each goes to one
  // taker) and answer the ones that have waited too long.
  int answered = 0;
  bool rearm_retire = false;
  for (int budget = 0; budget < 64; ++budget) {
    epoll_event ev;
    if (poller_->Wait({&ev, 1}, std::chrono::milliseconds(0)) != 1) break;
    const uint64_t token = ev.data.u64;
    if (token == kWakeToken) continue;  // level-triggered; stopping anyway
    if (token == kRetireToken) {
      rearm_retire = true;  // for a PHP thread, after this loop
      continue;
    }
    if (token & 1) {
      const size_t li = static_cast<size_t>(token >> 1);
      auto it = ready_since_.find(~static_cast<uint64_t>(li));
      const bool old = it != ready_since_.end() && now - it->second >= limit;
      if (!old) {
        if (!draining_.load(std::memory_order_acquire)) {
          (void)poller_->Modify(listeners_[li].get(), EPOLLIN | EPOLLONESHOT, token);
        }
        continue;
      }
      os::UniqueFd fd = AcceptOne(li);
      if (!fd) continue;
      auto* conn = new Connection(std::move(fd), &conn_config_);
      conn->id = next_connection_id_.fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard lock(mu_);
        connections_.insert(conn);
      }
      if (const auto progress = ReadGuarded(conn)) {
        switch (*progress) {
          case Connection::Progress::kRequestReady: Answer503(conn); ++answered; break;
          case Connection::Progress::kNeedMore: Park(conn); break;
          case Connection::Progress::kClose: Close(conn); break;
        }
      }
      continue;
    }
    auto* conn = reinterpret_cast<Connection*>(token);
    conn->Acquire();
    conn->idle_since_ms.store(0, std::memory_order_relaxed);
    conn->partial_since_ms.store(0, std::memory_order_relaxed);
    if (conn->parked_partial) {
      conn->parked_partial = false;
      partial_.fetch_sub(1, std::memory_order_acq_rel);
    }
    auto it = ready_since_.find(conn->id);
    if (it == ready_since_.end() || now - it->second < limit) {
      Park(conn);  // has not waited long enough: back in line
      continue;
    }
    if (const auto progress = ReadGuarded(conn)) {
      switch (*progress) {
        case Connection::Progress::kRequestReady: Answer503(conn); ++answered; break;
        case Connection::Progress::kNeedMore: Park(conn); break;
        case Connection::Progress::kClose: Close(conn); break;
      }
    }
  }
  if (rearm_retire) ArmRetire();
  return answered;
}

void Server::Answer503(Connection* conn) {
  // The main thread answers: it must never wait for a client that does not
  // read (a 503 the socket does not take at once is dropped).
  conn->SetNonBlockingWrites();
  fastcgi::RespondUnavailable(*conn, "tfpm: no free thread within max_wait_time",
                              "Service Unavailable: all threads are busy\n");
  Close(conn);
}

bool Server::SleepUnlessStopping(std::chrono::milliseconds d) {
  pollfd p{wake_fd_.get(), POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + d;
  for (;;) {
    if (stopping_.load(std::memory_order_acquire)) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    // An error (none is expected on our own eventfd) ends the sleep early
    // rather than spin.
    if (!os::Poll({&p, 1}, static_cast<int>(left.count())).ok()) return !stopping();
  }
}

void Server::Park(Connection* conn) {
  // Half a request, or the first bytes of one: wait for the rest.
  const bool holding = conn->MidRequest() || conn->HasBufferedInput();
  if (draining_.load(std::memory_order_acquire) && !holding) {
    if (!HandOver(conn)) Close(conn);
    return;
  }
  const int64_t now_ms = std::max<int64_t>(1, base::MonotonicMillis());
  if (holding) {
    conn->parked_partial = true;
    partial_.fetch_add(1, std::memory_order_acq_rel);
    if (conn->partial_start_ms == 0) conn->partial_start_ms = now_ms;
  } else {
    conn->partial_start_ms = 0;
    conn->ReleaseBuffers();
  }
  conn->idle_since_ms.store(holding ? 0 : now_ms, std::memory_order_relaxed);
  conn->partial_since_ms.store(conn->partial_start_ms, std::memory_order_relaxed);
  // Answers the client has not read yet: wake up when it can take more.
  const uint32_t events = kConnEvents | (conn->WantsWrite() ? uint32_t{EPOLLOUT} : 0u);
  const bool first = !conn->in_poller;
  conn->in_poller = true;
  conn->parked_us.store(base::MonotonicMicros(), std::memory_order_relaxed);
  const int fd = conn->fd();
  const uint64_t token = reinterpret_cast<uint64_t>(conn);
  conn->Release();
  // After this call another thread may own `conn`: do not touch it again.
  Status st = first ? poller_->Add(fd, events, token) : poller_->Modify(fd, events, token);
  if (!st.ok()) {
    conn->Acquire();
    log::Error("parking connection fd {}: {}", fd, st.message());
    Close(conn);
  }
}

void Server::Close(Connection* conn) {
  {
    std::lock_guard lock(mu_);
    connections_.erase(conn);
  }
  delete conn;  // closing the fd also drops it from the epoll set
}

void Server::BeginDrain() {
  draining_.store(true, std::memory_order_release);
  for (const auto& l : listeners_) poller_->Remove(l.get());
}

bool Server::QuietFor(std::chrono::milliseconds quiet) {
  const int64_t now = base::MonotonicMillis();
  std::lock_guard lock(mu_);
  for (const Connection* c : connections_) {
    const int64_t since = c->idle_since_ms.load(std::memory_order_relaxed);
    if (since == 0 || now - since < quiet.count()) return false;
  }
  return true;
}

void Server::Stop() {
  stopping_.store(true, std::memory_order_release);
  Wake();
}

void Server::Wake() {
  if (Status st = os::SignalEventFd(wake_fd_.get()); !st.ok()) log::Error("waking the PHP threads: {}", st.message());
}

bool Server::HandOver(Connection* conn) {
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

void Server::Adopt(os::UniqueFd fd) {
  (void)os::SetNonBlocking(fd.get(), true);
  auto* conn = new Connection(std::move(fd), &conn_config_);
  conn->id = next_connection_id_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mu_);
    connections_.insert(conn);
  }
  Park(conn);
}

void Server::Join() {
  for (ThreadRec& t : threads_) {
    if (t.run.load(std::memory_order_acquire) != kFree) pthread_join(t.handle, nullptr);
    t.run.store(kFree, std::memory_order_relaxed);
  }
  if (attr_ready_) pthread_attr_destroy(&attr_);
  attr_ready_ = false;
  // Only this thread is left: the idle kept-alive connections.
  std::vector<Connection*> left;
  {
    std::lock_guard lock(mu_);
    left.assign(connections_.begin(), connections_.end());
  }
  const bool draining = draining_.load(std::memory_order_acquire);
  for (Connection* c : left) {
    if (draining && HandOver(c)) continue;
    Close(c);
  }
}

}  // namespace tfpm::worker
