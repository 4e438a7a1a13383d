#include "worker/server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>

#include "base/log.h"

namespace tfpm::worker {
namespace {

// epoll tokens: odd = listener (index << 1 | 1), kWakeToken, else a
// Connection* (always 8-byte aligned, so never odd and never 2).
constexpr uint64_t kWakeToken = 2;
constexpr uint32_t kConnEvents = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;

}  // namespace

Server::Server(ServerOptions options, std::vector<os::UniqueFd> listeners, scoreboard::Segment* board)
    : options_(std::move(options)), listeners_(std::move(listeners)), board_(board) {}

Server::~Server() {
  for (Connection* c : connections_) delete c;
}

Status Server::Start(ThreadMain thread_main) {
  auto poller = os::Poller::Create();
  if (!poller.ok()) return poller.status();
  poller_.emplace(std::move(poller.value()));
  wake_fd_.Reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_) return ErrnoStatus("eventfd", errno);
  Status st = poller_->Add(wake_fd_.get(), EPOLLIN, kWakeToken);
  if (!st.ok()) return st;
  for (size_t i = 0; i < listeners_.size(); ++i) {
    st = poller_->Add(listeners_[i].get(), EPOLLIN | EPOLLONESHOT, (i << 1) | 1);
    if (!st.ok()) return st;
  }
  thread_main_ = std::move(thread_main);
  threads_.resize(static_cast<size_t>(options_.threads));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, options_.thread_stack_size);
  for (int i = 0; i < options_.threads; ++i) {
    ThreadRec& t = threads_[static_cast<size_t>(i)];
    t.server = this;
    t.index = i;
    int rc = pthread_create(&t.handle, &attr, &Server::ThreadEntry, &t);
    t.started = rc == 0;
    if (rc != 0) {
      pthread_attr_destroy(&attr);
      return ErrnoStatus("pthread_create", rc);
    }
  }
  pthread_attr_destroy(&attr);
  return Status::Ok();
}

void* Server::ThreadEntry(void* arg) {
  auto* t = static_cast<ThreadRec*>(arg);
  char name[16];
  std::snprintf(name, sizeof(name), "php-%d", t->index);
  pthread_setname_np(pthread_self(), name);
  t->server->thread_main_(t->index, *t->server);
  return nullptr;
}

bool Server::ServeOne(int index, const Handler& handler) {
  ThreadRec& self = threads_[static_cast<size_t>(index)];
  if (self.carry != nullptr && !stopping_.load(std::memory_order_acquire)) {
    Connection* conn = self.carry;
    const bool ready = self.carry_ready;
    self.carry = nullptr;
    busy_.fetch_add(1, std::memory_order_acq_rel);
    partial_.fetch_sub(1, std::memory_order_acq_rel);
    Drive(conn, index, handler, ready);
    busy_.fetch_sub(1, std::memory_order_acq_rel);
    return true;
  }
  for (;;) {
    if (stopping_.load(std::memory_order_acquire)) return false;
    epoll_event ev;
    if (poller_->Wait({&ev, 1}, std::chrono::milliseconds(-1)) != 1) continue;
    const uint64_t token = ev.data.u64;
    if (token == kWakeToken) return false;
    busy_.fetch_add(1, std::memory_order_acq_rel);
    if (token & 1) {
      Accept(static_cast<int>(token >> 1), index, handler);
    } else {
      auto* conn = reinterpret_cast<Connection*>(token);
      conn->Acquire();
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
  const int lfd = listeners_[static_cast<size_t>(listener)].get();
  const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  const int err = errno;
  // Let the next thread accept while this one serves.
  if (!draining_.load(std::memory_order_acquire)) {
    (void)poller_->Modify(lfd, EPOLLIN | EPOLLONESHOT, (static_cast<uint64_t>(listener) << 1) | 1);
  }
  if (fd < 0) {
    if (err != EAGAIN && err != EINTR && err != ECONNABORTED) {
      log::Error("accept() failed: {}", std::strerror(err));
    }
    return;
  }
  auto* conn = new Connection(os::UniqueFd(fd), &options_.connection);
  {
    std::lock_guard lock(mu_);
    connections_.insert(conn);
  }
  Drive(conn, index, handler);
}

void Server::Drive(Connection* conn, int index, const Handler& handler, bool ready) {
  scoreboard::SlotWriter slot(board_ ? board_->slot(static_cast<uint32_t>(index)) : nullptr);
  for (;;) {
    if (!ready) {
      switch (conn->ReadRequest()) {
        case Connection::Progress::kClose:
          Close(conn);
          return;
        case Connection::Progress::kNeedMore:
          Park(conn);
          return;
        case Connection::Progress::kRequestReady:
          break;
      }
    }
    ready = false;
    const Disposition d = handler(*conn, slot);
    if (d == Disposition::kDeferred) {
      Carry(conn, index, true);
      return;
    }
    served_.fetch_add(1, std::memory_order_relaxed);
    if (!conn->keep_conn() || conn->aborted() || draining_.load(std::memory_order_acquire)) {
      Close(conn);
      return;
    }
    // Only a request the client pipelined is served right away; otherwise
    // the connection waits its turn in the epoll set, even if its next
    // request has already arrived (after fastcgi_finish_request() it
    // usually has: serving it here would let this connection keep the
    // thread while other connections starve).
    if (!conn->DropFinishedInput()) {
      Park(conn);
      return;
    }
    if (d == Disposition::kServedStop) {
      Carry(conn, index, false);
      return;
    }
  }
}

void Server::Carry(Connection* conn, int index, bool ready) {
  ThreadRec& self = threads_[static_cast<size_t>(index)];
  self.carry = conn;
  self.carry_ready = ready;
  partial_.fetch_add(1, std::memory_order_acq_rel);  // keeps a drain waiting for it
}

bool Server::SleepUnlessStopping(std::chrono::milliseconds d) {
  pollfd p{wake_fd_.get(), POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + d;
  for (;;) {
    if (stopping_.load(std::memory_order_acquire)) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
}

void Server::Park(Connection* conn) {
  if (draining_.load(std::memory_order_acquire) && !conn->MidRequest()) {
    Close(conn);
    return;
  }
  if (conn->MidRequest()) {
    conn->parked_partial = true;
    partial_.fetch_add(1, std::memory_order_acq_rel);
  }
  const bool first = !conn->in_poller;
  conn->in_poller = true;
  const int fd = conn->fd();
  const uint64_t token = reinterpret_cast<uint64_t>(conn);
  conn->Release();
  // After this call another thread may own `conn`: do not touch it again.
  Status st = first ? poller_->Add(fd, kConnEvents, token) : poller_->Modify(fd, kConnEvents, token);
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

void Server::Stop() {
  stopping_.store(true, std::memory_order_release);
  Wake();
}

void Server::Wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof(one));
}

void Server::Join() {
  for (ThreadRec& t : threads_) {
    if (t.started) pthread_join(t.handle, nullptr);
    t.started = false;
  }
  std::lock_guard lock(mu_);
  for (Connection* c : connections_) delete c;  // idle kept-alive connections
  connections_.clear();
}

}  // namespace tfpm::worker
