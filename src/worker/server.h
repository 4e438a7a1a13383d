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
  // The socket to the supervisor. While draining, a kept connection is
  // handed over through it (SCM_RIGHTS) after its current request, and the
  // idle ones when the threads have stopped: the supervisor passes them to
  // a worker of the new generation, so the web server's kept connections
  // are never closed under it. -1 = close them instead.
  int handoff_socket = -1;
};

class Server {
 public:
  // Runs one complete request on the calling PHP thread and finishes it.
  using Handler = std::function<void(Connection& request, scoreboard::SlotWriter& slot)>;

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
  // Returns false when the thread should exit (Stop()). PHP threads only.
  bool ServeOne(int index, const Handler& handler);

  // Stop accepting new connections; requests in flight go on, kept-alive
  // connections are closed after their current request.
  void BeginDrain();
  // No request is being read or run, and no parked connection holds part
  // of a request.
  bool Idle() const {
    return busy_.load(std::memory_order_acquire) == 0 && partial_.load(std::memory_order_acquire) == 0;
  }
  // Every open connection has been parked without request bytes for at
  // least `quiet` (true when there is none). A draining worker waits for
  // this before it exits: a kept connection that the web server is still
  // using gets its next request served and is then ended cleanly, instead
  // of being closed while a request may be on its way.
  bool QuietFor(std::chrono::milliseconds quiet);
  // Takes over a kept connection handed over by a draining worker of an
  // earlier generation (main thread).
  void Adopt(os::UniqueFd fd);
  // The supervisor is gone: close kept connections instead of handing them over.
  void DisableHandOver() { handover_disabled_.store(true, std::memory_order_release); }
  // Threads exit after their current request. Then Join(), which also ends
  // the idle connections (handed over when draining, else closed).
  void Stop();
  void Join();

  uint64_t requests_served() const { return served_.load(std::memory_order_relaxed); }
  uint64_t connections_handed_over() const { return handed_over_.load(std::memory_order_relaxed); }

 private:
  static void* ThreadEntry(void* arg);
  void Accept(int listener, int index, const Handler& handler);
  // Serves requests on `conn` while they are complete; then parks or closes it.
  void Drive(Connection* conn, int index, const Handler& handler);
  void Park(Connection* conn);
  void Close(Connection* conn);
  void Wake();
  // Draining: sends conn's descriptor to the supervisor and closes ours.
  // False (conn untouched) if there is no hand-off socket or it failed.
  bool HandOver(Connection* conn);

  const ServerOptions options_;
  ConnectionConfig conn_config_;  // options_.connection + our drain flag
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
  };
  std::vector<ThreadRec> threads_;

  std::atomic<bool> draining_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> busy_{0};
  std::atomic<int> partial_{0};  // parked connections holding half a request
  std::atomic<uint64_t> served_{0};
  std::atomic<uint64_t> handed_over_{0};
  std::atomic<bool> handover_disabled_{false};

  std::mutex mu_;
  std::unordered_set<Connection*> connections_;  // guarded by mu_
};

}  // namespace tfpm::worker
