// Dispatcher, part 4 of 5: max_wait_time: the main thread answers 503 to
// requests that waited too long for a PHP thread (ShedOverdue). See
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

int Dispatcher::ShedOverdue(std::chrono::milliseconds max_wait) {
  if (busy_.load(std::memory_order_acquire) < options_.threads || draining_.load(std::memory_order_acquire)) {
    ready_since_.clear();  // a thread is free: nobody waits for one
    return 0;
  }
  const int64_t now = base::MonotonicMicros();
  const int64_t limit = std::chrono::duration_cast<std::chrono::microseconds>(max_wait).count();
  if (!NoteWaiting(now, limit)) return 0;
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
      answered += ShedFromListener(static_cast<size_t>(token >> 1), now, limit);
    } else {
      answered += ShedFromConnection(reinterpret_cast<Connection*>(token), now, limit);
    }
  }
  if (rearm_retire) ArmRetire();
  return answered;
}

bool Dispatcher::NoteWaiting(int64_t now, int64_t limit) {
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
  if (!os::Poll(pfds, 0, os::OnSignal::kReport).ok()) return false;  // look again next time
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
  return overdue;
}

int Dispatcher::ShedFromListener(size_t li, int64_t now, int64_t limit) {
  auto it = ready_since_.find(~static_cast<uint64_t>(li));
  const bool old = it != ready_since_.end() && now - it->second >= limit;
  if (!old) {
    if (!draining_.load(std::memory_order_acquire)) {
      (void)poller_->Modify(listeners_[li].get(), EPOLLIN | EPOLLONESHOT, (static_cast<uint64_t>(li) << 1) | 1);
    }
    return 0;
  }
  os::UniqueFd fd = AcceptOne(li);
  if (!fd) return 0;
  return AnswerIfComplete(Register(std::move(fd)));
}

int Dispatcher::ShedFromConnection(Connection* conn, int64_t now, int64_t limit) {
  TakeFromPoller(conn);
  auto it = ready_since_.find(conn->id);
  if (it == ready_since_.end() || now - it->second < limit) {
    Park(conn);  // has not waited long enough: back in line
    return 0;
  }
  return AnswerIfComplete(conn);
}

int Dispatcher::AnswerIfComplete(Connection* conn) {
  const auto progress = ReadGuarded(conn);
  if (!progress) return 0;
  switch (*progress) {
    case Connection::Progress::kRequestReady: Answer503(conn); return 1;
    case Connection::Progress::kNeedMore: Park(conn); return 0;
    case Connection::Progress::kClose: Close(conn); return 0;
  }
  return 0;
}

void Dispatcher::Answer503(Connection* conn) {
  // The main thread answers: it must never wait for a client that does not
  // read (a 503 the socket does not take at once is dropped).
  conn->SetNonBlockingWrites();
  fastcgi::RespondUnavailable(*conn, "tfpm: no free thread within max_wait_time",
                              "Service Unavailable: all threads are busy\n");
  Close(conn);
}

}  // namespace tfpm::worker
