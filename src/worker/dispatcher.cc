// Dispatcher, part 1 of 5: the leader/follower core: a PHP thread waits
// in the shared epoll set (ServeOne), accepts or reads, serves complete
// requests on the connection (Drive) and parks it again. The other parts:
// dispatcher_threads.cc, dispatcher_limits.cc, dispatcher_shed.cc,
// dispatcher_drain.cc; constants shared by them in dispatcher_internal.h.
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
#include "os/cpu_yield.h"
#include "os/event_fd.h"
#include "os/fd_io.h"
#include "os/resource_limits.h"
#include "os/socket.h"
#include "os/socket_io.h"
#include "worker/limit_report.h"


namespace tfpm::worker {

using namespace dispatcher_internal;  // NOLINT: this class's own constants

Dispatcher::Dispatcher(DispatcherOptions options, std::vector<os::UniqueFd> listeners, scoreboard::Segment* board)
    : options_(std::move(options)), listeners_(std::move(listeners)), board_(board) {
  conn_config_ = options_.connection;
  if (conn_config_.board == nullptr && board_ != nullptr) conn_config_.board = board_->header();
  backoff_ = std::make_unique<Backoff[]>(listeners_.size());
  // With a hand-off socket a draining worker never ends a kept connection.
  conn_config_.draining = options_.handoff_socket >= 0 ? nullptr : &draining_;
}

Dispatcher::~Dispatcher() {
  for (Connection* c : connections_) delete c;
}

bool Dispatcher::Pending() {
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

std::vector<int> Dispatcher::listener_fds() const {
  std::vector<int> out;
  for (const auto& l : listeners_) out.push_back(l.get());
  return out;
}

bool Dispatcher::ServeOne(int index, const Handler& handler, const Trimmer* trim) {
  ThreadRec& self = threads_[static_cast<size_t>(index)];
  const uint64_t handled_before = self.handled;
  if (self.carry != nullptr && !stopping_.load(std::memory_order_acquire)) {
    Connection* conn = self.carry;
    const bool ready = self.carry_ready;
    self.carry = nullptr;
    busy_.fetch_add(1, std::memory_order_acq_rel);
    partial_.fetch_sub(1, std::memory_order_acq_rel);
    Drive(conn, index, handler, ready ? DriveFrom::kRequestRead : DriveFrom::kRead);
    busy_.fetch_sub(1, std::memory_order_acq_rel);
    NoteServed(self, handled_before);
    return true;
  }
  for (;;) {
    if (stopping_.load(std::memory_order_acquire)) return false;
    // The wait is bounded only while a trim is pending: a thread that has
    // trimmed (or served nothing) waits for work alone, as before.
    std::chrono::milliseconds wait(-1);
    if (trim != nullptr && self.idle_trim.enabled()) {
      const int64_t now = base::MonotonicMillis();
      if (self.idle_trim.Due(now)) TrimIdle(*trim);
      wait = std::chrono::milliseconds(self.idle_trim.WaitMs(now));
    }
    // Busy back to back for a while: give the CPU to the other runnable
    // threads now, holding no request, rather than wherever the kernel
    // would end the time slice (worker/burst_yield.h).
    int64_t before_us = base::MonotonicMicros();
    if (self.burst.ShouldYield(before_us)) {
      os::YieldCpu();
      before_us = base::MonotonicMicros();
      self.burst.Restart(before_us);
    }
    epoll_event ev;
    const int got = poller_->Wait({&ev, 1}, wait);
    self.burst.Waited(before_us, base::MonotonicMicros());
    if (got != 1) continue;
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
      TakeFromPoller(conn);
      Drive(conn, index, handler);
    }
    busy_.fetch_sub(1, std::memory_order_acq_rel);
    NoteServed(self, handled_before);
    return true;
  }
}

void Dispatcher::NoteServed(ThreadRec& self, uint64_t handled_before) {
  if (self.handled != handled_before && self.idle_trim.enabled()) self.idle_trim.Served(base::MonotonicMillis());
}

void Dispatcher::TrimIdle(const Trimmer& trim) {
  // Not busy: the thread holds no connection, and a request that arrives
  // meanwhile goes to another waiting thread (or waits for this one a
  // few milliseconds at most). Nothing may escape a thread's wait.
  try {
    trim();
  } catch (const std::exception& e) {
    log::Error("idle_trim: {}", e.what());
  }
  if (board_ != nullptr) board_->header()->idle_trims.fetch_add(1, std::memory_order_relaxed);
}

void Dispatcher::Accept(int listener, int index, const Handler& handler) {
  // Draining began after this thread was woken: leave the connection to
  // the new generation.
  if (draining_.load(std::memory_order_acquire)) return;
  os::UniqueFd fd = AcceptOne(static_cast<size_t>(listener));
  if (!fd) return;
  Connection* conn = Register(std::move(fd));
  conn->arrival_us = base::MonotonicMicros();
  // Every connection is parked EPOLLONESHOT after each request, so the
  // epoll set serves ready connections in turn — but the listener is one
  // entry in that line too: accepting one connection per turn, a burst of
  // new connections behind busy kept ones waited one full round each (the
  // 16th through nginx: 16 rounds; DokuWiki p99 0.7-1.7 s against a 9 ms
  // service time). When no other thread of this process is free to take
  // the listener's next event, take the whole backlog now.
  if (options_.accept_pending && busy_.load(std::memory_order_acquire) >= live_threads()) {
    AcceptPending(static_cast<size_t>(listener));
  }
  Drive(conn, index, handler, DriveFrom::kJustAccepted);
}

void Dispatcher::AcceptPending(size_t li) {
  for (int i = 1; i < kMaxAcceptBatch && !draining_.load(std::memory_order_acquire); ++i) {
    os::UniqueFd fd = AcceptOne(li);
    if (!fd) return;  // the backlog is empty (or the connection was refused)
    Connection* conn = Register(std::move(fd));
    conn->arrival_us = base::MonotonicMicros();
    // Its first request may already be here: then the epoll set reports
    // it at once, behind the connections that were waiting before it.
    Park(conn);
  }
}

Connection* Dispatcher::Register(os::UniqueFd fd) {
  auto* conn = new Connection(std::move(fd), &conn_config_);
  conn->id = next_connection_id_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  connections_.insert(conn);
  return conn;
}

void Dispatcher::TakeFromPoller(Connection* conn) {
  conn->Acquire();
  conn->idle_since_ms.store(0, std::memory_order_relaxed);
  conn->partial_since_ms.store(0, std::memory_order_relaxed);
  if (conn->parked_partial) {
    conn->parked_partial = false;
    partial_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void Dispatcher::Drive(Connection* conn, int index, const Handler& handler, DriveFrom from) {
  bool ready = from == DriveFrom::kRequestRead;
  bool fresh = from == DriveFrom::kJustAccepted;
  scoreboard::SlotWriter slot(board_ ? board_->slot(static_cast<uint32_t>(index)) : nullptr);
  for (;;) {
    if (conn->arrival_us == 0) conn->arrival_us = base::MonotonicMicros();
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
    ++threads_[static_cast<size_t>(index)].handled;
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
    conn->arrival_us = 0;  // the next request's wait starts when it is read
    // Only a request the client pipelined is served right away; otherwise
    // the connection waits its turn in the epoll set, even if its next
    // request has already arrived (after fastcgi_finish_request() it
    // usually has: serving it here would let this connection keep the
    // thread while other connections starve) — unless nothing else waits
    // (Linger), and then through ServeOne, so that recycling and retiring
    // still happen between two of its requests.
    const bool pipelined = conn->DropFinishedInput();
    const bool draining = draining_.load(std::memory_order_acquire);
    if (draining && conn->keep_conn() && conn->reusable() && !pipelined && HandOver(conn)) return;
    if (!conn->keep_conn() || !conn->reusable() || draining) {
      Close(conn);
      return;
    }
    if (!pipelined) {
      // Nobody else waits and the client usually sends its next request
      // within microseconds: keep the connection a moment (Linger).
      if (Linger(conn, index)) {
        Carry(conn, index, false);
      } else {
        Park(conn);
      }
      return;
    }
    if (d == Disposition::kServedStop) {
      Carry(conn, index, false);
      return;
    }
  }
}

std::optional<Connection::Progress> Dispatcher::ReadGuarded(Connection* conn) {
  try {
    return conn->ReadRequest();
  } catch (const std::exception& e) {
    Failed(conn, "reading a request", e.what());
  } catch (...) {
    Failed(conn, "reading a request", "unknown exception");
  }
  return std::nullopt;
}

void Dispatcher::Failed(Connection* conn, std::string_view what, std::string_view why) {
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

void Dispatcher::Carry(Connection* conn, int index, bool ready) {
  ThreadRec& self = threads_[static_cast<size_t>(index)];
  self.carry = conn;
  self.carry_ready = ready;
  partial_.fetch_add(1, std::memory_order_acq_rel);  // keeps a drain waiting for it
}

bool Dispatcher::Linger(Connection* conn, int index) {
  if (options_.linger.count() <= 0 || conn->WantsWrite() || conn->HasBufferedInput()) return false;
  // The shared set is in the poll too: a connection, listener, retire or
  // stop event there ends the linger at once.
  pollfd p[2] = {{conn->fd(), POLLIN, 0}, {poller_->fd(), POLLIN, 0}};
  const int64_t before_us = base::MonotonicMicros();
  busy_.fetch_sub(1, std::memory_order_acq_rel);  // waiting: free for pm and max_wait_time
  Result<int> n = os::PollFor(p, options_.linger);
  busy_.fetch_add(1, std::memory_order_acq_rel);
  threads_[static_cast<size_t>(index)].burst.Waited(before_us, base::MonotonicMicros());
  if (!n.ok() || *n <= 0 || (p[1].revents & POLLIN) != 0) return false;
  return (p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

void Dispatcher::Park(Connection* conn) {
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

void Dispatcher::Close(Connection* conn) {
  {
    std::lock_guard lock(mu_);
    connections_.erase(conn);
  }
  delete conn;  // closing the fd also drops it from the epoll set
}

}  // namespace tfpm::worker
