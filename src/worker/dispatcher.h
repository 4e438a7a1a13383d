// Dispatcher: the PHP threads of one worker process and the connections they
// serve.
//
// Every PHP thread is its own acceptor (leader/follower): all threads wait in
// epoll_wait on one shared epoll set that holds the listening sockets and
// every idle connection, each registered EPOLLONESHOT, so each readiness
// event goes to exactly one thread. The thread that reads a complete request
// serves it itself — no hand-off to another thread on the hot path — and
// then parks the connection back in the epoll set if it is kept alive. Idle
// kept-alive connections therefore never pin a thread: when nothing else
// waits, a thread keeps its connection at most options.linger (about a
// millisecond) for the client's next request before parking it.
//
// Thread-safety: Start/BeginDrain/Stop/Join are called by the process's main
// thread only. The connection registry is guarded by mu_; everything else
// shared between threads is atomic.
#pragma once

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/rate_limit.h"
#include "base/status.h"
#include "os/poller.h"
#include "os/unique_fd.h"
#include "scoreboard/scoreboard.h"
#include "worker/connection.h"
#include "worker/dispatcher_control.h"
#include "worker/burst_yield.h"
#include "worker/idle_trim.h"

namespace tfpm::worker {

struct DispatcherOptions {
  int threads = 4;  // the most PHP threads this process runs at once
  size_t thread_stack_size = 8 << 20;
  uint64_t max_requests = 0;  // per thread, then its interpreter is recycled
  ConnectionConfig connection;
  // The socket to the supervisor. While draining, a kept connection is
  // handed over through it (SCM_RIGHTS) after its current request, and the
  // idle ones when the threads have stopped: the supervisor passes them to
  // a worker of the new generation, so the web server's kept connections
  // are never closed under it. -1 = close them instead.
  int handoff_socket = -1;
  // The pool has this process alone (processes: 1). Then a thread that
  // takes a listener's event while every other thread is busy accepts
  // every connection waiting in the backlog (up to kMaxAcceptBatch), not
  // just one: the extra ones join the epoll set behind the connections
  // already waiting, instead of one new connection per round of them (see
  // Accept). With several processes the backlog is shared, and a busy
  // process must leave new connections to an idle one.
  bool accept_pending = false;
  // The pool's idle_trim: a thread that has waited this long for work
  // since its last request runs the Trimmer ServeOne was given, once
  // (worker/idle_trim.h). 0 = never.
  std::chrono::milliseconds idle_trim{0};
  // After a request, when nothing else waits in the shared epoll set, the
  // thread keeps the connection up to this long for the client's next
  // request before parking it (Linger). 0 = park at once. See
  // LingerFor().
  std::chrono::microseconds linger{0};
};

// The linger for a process of `threads` PHP threads on `cpus` CPUs:
// kLinger while threads are few per CPU, else 0.
//
// Why: a client on a kept connection (a web server's upstream connection,
// a benchmark) sends its next request microseconds after the answer. A
// thread that parks the connection and sleeps in the shared set is then
// woken by whichever connection is ready next, wherever its client runs:
// 37 % of a client's wakeups crossed CPUs, each an inter-processor
// interrupt. Keeping the connection a moment pairs it with its thread, as
// a php-fpm child blocked in read() is paired with its client, and saves
// the epoll_ctl and epoll_wait of a park. It costs no one a wait: any
// event in the shared set ends the linger and the connection goes back in
// line behind it. Measured (issue 16, 4 kept connections, 4 threads, 2
// CPUs, 6 alternating rounds): hello 1.24x php-fpm's req/s at 0.74x its
// CPU (tfpm without it: 0.87x at 1.18x), Symfony CPU 1.00x (1.05x). With
// many threads per CPU the thread that would linger is better left asleep:
// 16 threads, 16 connections: hello 0.82x of tfpm without it, p99 1.31 ms
// against 0.96.
inline constexpr std::chrono::microseconds kLinger{1000};
inline constexpr int kLingerMaxThreadsPerCpu = 2;
inline std::chrono::microseconds LingerFor(int threads, int cpus) {
  return threads <= kLingerMaxThreadsPerCpu * cpus ? kLinger : std::chrono::microseconds(0);
}

class Dispatcher final : public DispatcherControl {
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

  Dispatcher(DispatcherOptions options, std::vector<os::UniqueFd> listeners, scoreboard::Segment* board);
  ~Dispatcher() override;
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // `thread_main(index, server)` runs on each new thread; it sets up the
  // interpreter and calls server.ServeOne() until that returns false.
  // Starts `initial` threads (at most options.threads).
  using ThreadMain = std::function<void(int index, Dispatcher& server)>;
  Status Start(ThreadMain thread_main, int initial);

  // Thread scaling (pm dynamic/ondemand), main thread only.
  //
  // StartThread() starts one more PHP thread in a free index (joining the
  // threads that have exited first); false at options.threads or if
  // pthread_create failed. RetireThreads(n) asks n idle threads to exit:
  // a retire token in the shared epoll set (EPOLLONESHOT, re-armed while
  // requests remain) wakes one thread waiting in epoll_wait — a thread
  // that holds no connection and no request — which returns false from
  // ServeOne and tears its interpreter down itself. A busy thread never
  // sees it before its request is done, so no request is lost or refused.
  // CancelRetires() withdraws the requests no thread has taken yet.
  bool StartThread() override;
  // Joins the threads that have exited (frees their stacks).
  void JoinExited() override;
  void RetireThreads(int n) override;
  int CancelRetires() override;
  // Threads running (started, not exited or asked to exit) and not yet taken
  // by a retire request; includes threads still creating their interpreter.
  int live_threads() override;
  // Something waits for a thread (non-consuming poll(): nothing is taken
  // from the epoll set): a connection on a listener, or bytes on an open
  // connection.
  bool Pending() override;
  // The listening sockets, for the main thread's readiness watch.
  std::vector<int> listener_fds() const;

  // Gives the calling PHP thread's free memory back to the kernel (the
  // pool's idle_trim, docs/config.md "Idle memory trimming"): its own Zend
  // heap, then malloc's. Runs on that thread, between its requests.
  using Trimmer = std::function<void()>;

  // Waits for one event (a new connection, or bytes on an idle one) and
  // handles it, running `handler` for every request that is complete.
  // A connection this thread kept back (kServedStop with a pipelined
  // request, or kDeferred) is served first, without waiting.
  // With a `trim` (and options.idle_trim), a thread that has waited
  // idle_trim since the last request it served runs it once, counts it in
  // the scoreboard (idle_trims) and waits on, unbounded, for work.
  // Returns false when the thread should exit (Stop()). PHP threads only.
  bool ServeOne(int index, const Handler& handler, const Trimmer* trim = nullptr);

  // max_wait_time, run by the process's main thread every few tens of ms:
  // while every PHP thread is busy, requests that have waited `max_wait`
  // for one are answered 503 at once instead of piling up. Returns how many
  // were answered. Not a PHP thread; takes events from the same epoll set
  // (so it owns what it takes exactly as a PHP thread would).
  int ShedOverdue(std::chrono::milliseconds max_wait) override;

  // The connection limits that need a clock, run by the process's main
  // thread at least every few hundred ms: closes connections parked idle
  // longer than idle_timeout_ms or holding half a request longer than
  // header_timeout_ms (shutdown(2): the thread that sees the EOF closes
  // them), and re-arms a listener whose accept() back-off has passed.
  // Returns how long the caller may wait before the next Tick.
  std::chrono::milliseconds Tick() override;

  // Sleeps up to `d`; returns false early if Stop() was called. PHP threads.
  bool SleepUnlessStopping(std::chrono::milliseconds d);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  // Stop accepting new connections; requests in flight go on, kept-alive
  // connections are closed after their current request.
  void BeginDrain() override;
  // No request is being read or run, and no parked connection holds part
  // of a request.
  bool Idle() const override {
    return busy_.load(std::memory_order_acquire) == 0 && partial_.load(std::memory_order_acquire) == 0;
  }
  // Every open connection has been parked without request bytes for at
  // least `quiet` (true when there is none). A draining worker waits for
  // this before it exits: a kept connection that the web server is still
  // using gets its next request served and is then ended cleanly, instead
  // of being closed while a request may be on its way.
  bool QuietFor(std::chrono::milliseconds quiet) override;
  // Takes over a kept connection handed over by a draining worker of an
  // earlier generation (main thread).
  void Adopt(os::UniqueFd fd) override;
  // The supervisor is gone: close kept connections instead of handing them over.
  void DisableHandOver() override { handover_disabled_.store(true, std::memory_order_release); }
  // Threads exit after their current request. Then Join(), which also ends
  // the idle connections (handed over when draining, else closed).
  void Stop();
  void Join();

  // Threads reading or running a request now.
  int busy() const override { return busy_.load(std::memory_order_acquire); }
  uint64_t requests_served() const override { return served_.load(std::memory_order_relaxed); }
  uint64_t connections_handed_over() const { return handed_over_.load(std::memory_order_relaxed); }
  // Requests failed by an exception in our C++ request path (the request
  // failed, its connection was closed, the thread carried on).
  uint64_t internal_errors() const { return internal_errors_.load(std::memory_order_relaxed); }

 private:
  static void* ThreadEntry(void* arg);
  void Accept(int listener, int index, const Handler& handler);
  // accept_pending: the connections waiting on listener `li`, registered
  // and parked (Accept).
  void AcceptPending(size_t li);
  // accept4() on listener `li`, then re-arms it. A lack of descriptors or
  // memory leaves it disarmed for a growing back-off (Tick re-arms it), so
  // the threads do not spin on a listener that cannot be served. Past
  // max_connections the new connection is closed at once. Invalid = none.
  os::UniqueFd AcceptOne(size_t li);
  void PauseListener(size_t li, int err);
  // Ends the connection that has waited longest without a complete request
  // (shutdown(2); its thread closes it on the EOF). False if there is none.
  bool EvictOldest();
  // Descriptors at or above this number are kept free for PHP (scripts,
  // includes, sessions): a connection that gets one makes an older idle one
  // go, or is refused. Set by Start from the soft RLIMIT_NOFILE.
  int fd_ceiling_ = 1 << 30;
  // Serves requests on `conn` while they are complete; then parks or closes
  // it, or keeps it as the thread's carry.
  enum class DriveFrom {
    kRead,          // read first (a connection woken in the epoll set, a carry)
    kRequestRead,   // a request was already read (a deferred carry): run it first
    kJustAccepted,  // read first, waiting briefly for the first bytes (see Accept)
  };
  void Drive(Connection* conn, int index, const Handler& handler, DriveFrom from = DriveFrom::kRead);
  void Carry(Connection* conn, int index, bool ready);
  // An exception escaped reading or handling a request on `conn`: counts
  // and logs it (rate-limited), then closes `conn` (the request fails).
  void Failed(Connection* conn, std::string_view what, std::string_view why);
  // conn->ReadRequest(), for a PHP thread or the main thread (ShedOverdue):
  // an exception fails the connection (Failed closes it) and gives nullopt.
  std::optional<Connection::Progress> ReadGuarded(Connection* conn);
  // ShedOverdue's steps. NoteWaiting: which connections and listeners have
  // bytes waiting, since when (ready_since_); true if one waited `limit` µs.
  bool NoteWaiting(int64_t now, int64_t limit);
  // A ready event taken from the epoll set: answered 503 (returns 1) if it
  // has waited `limit`, else put back in line (returns 0).
  int ShedFromListener(size_t li, int64_t now, int64_t limit);
  int ShedFromConnection(Connection* conn, int64_t now, int64_t limit);
  // Reads `conn`: a complete request is answered 503 (returns 1); half a
  // request parks it, an EOF closes it.
  int AnswerIfComplete(Connection* conn);
  // A new connection (accepted, or handed over): owned by the registry
  // from now on, held by the calling thread.
  Connection* Register(os::UniqueFd fd);
  // A connection's readiness event taken from the epoll set: it is the
  // calling thread's now (not idle, not parked with half a request).
  void TakeFromPoller(Connection* conn);
  // After a request on `conn`, by PHP thread `index`: waits up to
  // options_.linger for the client's next request (or its close) while
  // nothing waits in the shared set. True if it came (the caller serves it
  // next); false if it did not, or if anything arrived in the shared set
  // meanwhile (then `conn` is parked behind it).
  bool Linger(Connection* conn, int index);
  void Park(Connection* conn);
  void Close(Connection* conn);
  void Wake();
  // Draining: sends conn's descriptor to the supervisor and closes ours.
  // False (conn untouched) if there is no hand-off socket or it failed.
  bool HandOver(Connection* conn);

  const DispatcherOptions options_;
  ConnectionConfig conn_config_;  // options_.connection + our drain flag
  std::vector<os::UniqueFd> listeners_;
  scoreboard::Segment* board_;
  std::optional<os::Poller> poller_;
  os::UniqueFd wake_fd_;  // eventfd, level-triggered: wakes every thread on stop/drain
  ThreadMain thread_main_;

  // kFree: no thread (never started or joined). kRunning: started. kExiting:
  // took a retire request. kExited: its function returned; Join it.
  enum ThreadRun : int { kFree, kRunning, kExiting, kExited };
  struct ThreadRec {
    Dispatcher* server;
    int index;
    pthread_t handle;
    std::atomic<int> run{kFree};  // written by the thread (kExiting, kExited) and the main thread
    // Owned by this thread alone: a connection kept back by the handler.
    Connection* carry = nullptr;
    bool carry_ready = false;  // its request was read but not run
    // Owned by this thread alone (reset when it starts): when it trims, and
    // the requests its handler was given (Drive), to tell when it served.
    IdleTrimTimer idle_trim{std::chrono::milliseconds(0)};
    uint64_t handled = 0;
    // When it gives up the CPU between requests (worker/burst_yield.h).
    BurstYield burst{std::chrono::microseconds(0)};
  };
  // After the thread handled an event: arms its idle trim if it served.
  void NoteServed(ThreadRec& self, uint64_t handled_before);
  void TrimIdle(const Trimmer& trim);
  std::deque<ThreadRec> threads_;  // options_.threads entries (stable addresses), made by Start
  pthread_attr_t attr_;
  bool attr_ready_ = false;
  os::UniqueFd retire_fd_;             // eventfd, readable once a retire was asked; EPOLLONESHOT
  std::atomic<int> retire_{0};         // retire requests no thread has taken yet
  void ArmRetire();
  bool TakeRetire();                   // a PHP thread got the retire token
  void MarkStarting(int index);        // main thread, before the thread is created

  std::atomic<bool> draining_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<int> busy_{0};
  std::atomic<int> partial_{0};  // parked or carried connections holding (part of) a request
  std::atomic<uint64_t> served_{0};
  std::atomic<uint64_t> handed_over_{0};
  std::atomic<bool> handover_disabled_{false};
  std::atomic<uint64_t> internal_errors_{0};
  std::mutex error_log_mu_;
  base::RateLimit error_log_;  // guarded by error_log_mu_

  std::mutex mu_;
  std::unordered_set<Connection*> connections_;  // guarded by mu_
  std::atomic<uint64_t> next_connection_id_{1};

  // accept() back-off per listener (see AcceptOne); steady ms.
  struct Backoff {
    std::atomic<int64_t> resume_ms{0};  // 0 = armed
    std::atomic<int64_t> delay_ms{0};
  };
  std::unique_ptr<Backoff[]> backoff_;

  // ShedOverdue's state (main thread only): since when each connection
  // (by id) and each listener (by ~index) has been seen readable.
  std::unordered_map<uint64_t, int64_t> ready_since_;
  void Answer503(Connection* conn);
};

}  // namespace tfpm::worker
