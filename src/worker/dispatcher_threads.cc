// Dispatcher, part 2 of 5: its PHP threads' lifecycle: starting them
// (Start, StartThread), retiring idle ones (RetireThreads and the retire
// token), waking and stopping them, joining them. See dispatcher.h.
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

Status Dispatcher::Start(ThreadMain thread_main, int initial) {
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
    const int rc = pthread_create(&t.handle, &attr_, &Dispatcher::ThreadEntry, &t);
    if (rc != 0) {
      t.run.store(kFree, std::memory_order_relaxed);
      return ErrnoStatus("pthread_create", rc);
    }
  }
  return Status::Ok();
}

void* Dispatcher::ThreadEntry(void* arg) {
  auto* t = static_cast<ThreadRec*>(arg);
  char name[16];
  std::snprintf(name, sizeof(name), "php-%d", t->index);
  pthread_setname_np(pthread_self(), name);
  // This thread's own state, fresh for each thread started in the slot.
  t->idle_trim = IdleTrimTimer(t->server->options_.idle_trim);
  t->handled = 0;
  t->burst = BurstYield(std::chrono::microseconds(dispatcher_internal::kBurstYieldUs));
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
void Dispatcher::MarkStarting(int index) {
  if (board_ != nullptr) {
    scoreboard::SlotWriter(board_->slot(static_cast<uint32_t>(index))).SetState(scoreboard::ThreadState::kStarting);
  }
}

void Dispatcher::JoinExited() {
  for (ThreadRec& t : threads_) {
    if (t.run.load(std::memory_order_acquire) != kExited) continue;
    pthread_join(t.handle, nullptr);
    t.run.store(kFree, std::memory_order_relaxed);
  }
}

bool Dispatcher::StartThread() {
  if (!attr_ready_ || stopping_.load(std::memory_order_acquire)) return false;
  JoinExited();
  for (ThreadRec& t : threads_) {
    if (t.run.load(std::memory_order_acquire) != kFree) continue;
    // Before the thread runs: it may exit (and store kExited) at once.
    MarkStarting(t.index);
    t.run.store(kRunning, std::memory_order_relaxed);
    const int rc = pthread_create(&t.handle, &attr_, &Dispatcher::ThreadEntry, &t);
    if (rc != 0) {
      t.run.store(kFree, std::memory_order_relaxed);
      log::Error("starting a PHP thread: {}", std::strerror(rc));
      return false;
    }
    return true;
  }
  return false;
}

int Dispatcher::live_threads() {
  int n = 0;
  for (const ThreadRec& t : threads_) {
    if (t.run.load(std::memory_order_acquire) == kRunning) ++n;
  }
  return std::max(0, n - retire_.load(std::memory_order_acquire));
}

void Dispatcher::RetireThreads(int n) {
  if (n <= 0) return;
  retire_.fetch_add(n, std::memory_order_acq_rel);
  if (Status st = os::SignalEventFd(retire_fd_.get()); !st.ok()) log::Error("retiring threads: {}", st.message());
  ArmRetire();
}

int Dispatcher::CancelRetires() { return retire_.exchange(0, std::memory_order_acq_rel); }

void Dispatcher::ArmRetire() {
  (void)poller_->Modify(retire_fd_.get(), EPOLLIN | EPOLLONESHOT, kRetireToken);
}

// Called by the one thread the armed token woke. Every increment of
// retire_ is followed by an arming, and a taker that leaves requests
// behind re-arms: while retire_ > 0 the token is armed or being handled.
bool Dispatcher::TakeRetire() {
  int n = retire_.load(std::memory_order_acquire);
  while (n > 0 && !retire_.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel)) {
  }
  if (n <= 0) return false;  // withdrawn by CancelRetires
  if (n > 1) ArmRetire();
  return true;
}

bool Dispatcher::SleepUnlessStopping(std::chrono::milliseconds d) {
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

void Dispatcher::Stop() {
  stopping_.store(true, std::memory_order_release);
  Wake();
}

void Dispatcher::Wake() {
  if (Status st = os::SignalEventFd(wake_fd_.get()); !st.ok()) log::Error("waking the PHP threads: {}", st.message());
}

void Dispatcher::Join() {
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
