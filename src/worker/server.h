// Server: the PHP threads of one worker process and the connections they
// serve.
//
// Every PHP thread is its own acceptor (leader/follower): all threads wait in
// epoll_wait on one shared epoll set that holds the listening sockets and
// every idle connection, each registered EPOLLONESHOT, so each readiness
// event goes to exactly one thread. The thread that reads a complete request
// serves it itself — no hand-off to another thread on the hot path — and
// then parks the connection back in the epoll set if it is kept alive. Idle
// kept-alive connections therefore never pin a thread.
//
// Thread-safety: Start/BeginDrain/Stop/Join are called by the process's main
// thread only. The connection registry is guarded by mu_; everything else
// shared between threads is atomic.
#pragma once

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "os/poller.h"
#include "os/unique_fd.h"
#include "scoreboard/scoreboard.h"
#include "worker/connection.h"

namespace tfpm::worker {

struct ServerOptions {
  int threads = 4;
  size_t thread_stack_size = 8 << 20;
  uint64_t max_requests = 0;  // per thread, then its interpreter is recycled
  ConnectionConfig connection;
};

class Server {
 public:
  // What a handler did with the complete request it was given.
  enum class Disposition {
    kServed,      // ran and finished it; serve the connection's next one
    kServedStop,  // ran and finished it; give the thread back to its caller
    kDeferred,    // did not run it: keep it for this thread's next ServeOne
  };
  // Runs one complete request on the calling PHP thread and finishes it
  // (or defers it, see Disposition).
  using Handler = std::function<Disposition(Connection& request, scoreboard::SlotWriter& slot)>;

  Server(ServerOptions options, std::vector<os::UniqueFd> listeners, scoreboard::Segment* board);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // `thread_main(index, server)` runs on each new thread; it sets up the
  // interpreter and calls server.ServeOne() until that returns false.
  using ThreadMain = std::function<void(int index, Server& server)>;
  Status Start(ThreadMain thread_main);

  // Waits for one event (a new connection, or bytes on an idle one) and
  // handles it, running `handler` for every request that is complete.
  // A connection this thread kept back (kServedStop with a pipelined
  // request, or kDeferred) is served first, without waiting.
  // Returns false when the thread should exit (Stop()). PHP threads only.
  bool ServeOne(int index, const Handler& handler);

  // Sleeps up to `d`; returns false early if Stop() was called. PHP threads.
  bool SleepUnlessStopping(std::chrono::milliseconds d);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  // Stop accepting new connections; requests in flight go on, kept-alive
  // connections are closed after their current request.
  void BeginDrain();
  // No request is being read or run, and no parked connection holds part
  // of a request.
  bool Idle() const {
    return busy_.load(std::memory_order_acquire) == 0 && partial_.load(std::memory_order_acquire) == 0;
  }
  // Threads exit after their current request. Then Join().
  void Stop();
  void Join();

  // Threads reading or running a request now.
  int busy() const { return busy_.load(std::memory_order_acquire); }
  uint64_t requests_served() const { return served_.load(std::memory_order_relaxed); }

 private:
  static void* ThreadEntry(void* arg);
  void Accept(int listener, int index, const Handler& handler);
  // Serves requests on `conn` while they are complete; then parks or closes
  // it, or keeps it as the thread's carry. `ready`: a request was already
  // read (a deferred carry).
  void Drive(Connection* conn, int index, const Handler& handler, bool ready = false);
  void Carry(Connection* conn, int index, bool ready);
  void Park(Connection* conn);
  void Close(Connection* conn);
  void Wake();

  const ServerOptions options_;
  std::vector<os::UniqueFd> listeners_;
  scoreboard::Segment* board_;
  std::optional<os::Poller> poller_;
  os::UniqueFd wake_fd_;  // eventfd, level-triggered: wakes every thread on stop/drain
  ThreadMain thread_main_;

  struct ThreadRec {
    Server* server;
    int index;
    pthread_t handle;
    bool started;
    // Owned by this thread alone: a connection kept back by the handler.
    Connection* carry = nullptr;
    bool carry_ready = false;  // its request was read but not run
  };
  std::vector<ThreadRec> threads_;

  std::atomic<bool> draining_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> busy_{0};
  std::atomic<int> partial_{0};  // parked or carried connections holding (part of) a request
  std::atomic<uint64_t> served_{0};

  std::mutex mu_;
  std::unordered_set<Connection*> connections_;  // guarded by mu_
};

}  // namespace tfpm::worker
