// Connection: one accepted FastCGI connection, server side, and the
// fastcgi::Exchange of the request currently on it (FCGI_MPXS_CONNS=0: at
// most one request at a time).
//
// Ownership and threads: a Connection is owned by the Dispatcher. At any moment
// it is either parked in the Dispatcher's epoll set (EPOLLONESHOT) or held by
// exactly one PHP thread that took it out of epoll_wait; Acquire()/Release()
// mark those hand-offs with acquire/release atomics so the memory ordering
// the kernel provides is visible to ThreadSanitizer too.
//
// The socket is non-blocking. While a request runs, reads of the body and
// writes of the response wait in poll(2) on this thread only. Outside a
// request nothing waits: answers to management records, refused roles,
// multiplexing attempts and aborts are sent as far as the socket takes
// them, the rest stays buffered (flushed when the socket becomes writable,
// see WantsWrite()) up to max_output, beyond which the connection is
// closed. So a client that never reads can pin neither a thread nor memory.
//
// The protocol itself (records, states, answers, the params limits) is
// fastcgi::ServerSession, a pure state machine: this class reads the
// socket into it, acts on its events and sends its output; it keeps the
// I/O, the waiting and the deadlines. A close the session decides (a record
// the server side does not accept, PARAMS beyond max_params_size /
// max_params) is counted in the scoreboard and logged (worker/limit_report.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/client_filter.h"
#include "base/status.h"
#include "fastcgi/exchange.h"
#include "fastcgi/server_session.h"
#include "os/unique_fd.h"
#include "scoreboard/scoreboard.h"

namespace tfpm::worker {

// Facts a connection needs about its pool, fixed for the process's life
// (a Connection reads them when it is constructed and as it runs).
struct ConnectionConfig {
  uint32_t max_conns = 1;       // FCGI_MAX_CONNS answer
  uint32_t max_reqs = 1;        // FCGI_MAX_REQS answer: the pool's total threads
  size_t max_params_bytes = 1 << 20;  // max_params_size
  size_t max_params = 10000;          // max_params
  size_t max_output = 1 << 20;        // max_connection_output
  // Read by the Dispatcher, not the Connection (see Dispatcher::Tick).
  size_t max_connections = 1024;      // per process
  int64_t idle_timeout_ms = 75000;    // connection_idle_timeout
  int64_t header_timeout_ms = 30000;  // request_header_timeout
  // listen_allowed_clients: TCP peers outside it are closed after accept
  // (read by the Dispatcher). Empty = every peer.
  base::ClientFilter allowed_clients;
  // Where trips of the limits are counted; nullptr = nowhere.
  scoreboard::Header* board = nullptr;
  // The Dispatcher's drain flag: set, a kept connection is ended after its
  // current request (see Finish()). nullptr = never draining.
  const std::atomic<bool>* draining = nullptr;
};

class Connection final : public fastcgi::Exchange {
 public:
  Connection(os::UniqueFd fd, const ConnectionConfig* config);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_.get(); }

  enum class Progress { kRequestReady, kNeedMore, kClose };
  // Between requests: reads what the socket has without blocking and feeds
  // it to the session: management records are answered, BEGIN_REQUEST and
  // PARAMS collected. kRequestReady: params() is complete and the request
  // may be executed. kClose: EOF, error or a protocol violation (counted,
  // logged); close it.
  Progress ReadRequest();

  bool keep_conn() const { return session_.keep_conn(); }
  // True if parsed-but-unused bytes are buffered (a pipelined next request).
  bool HasBufferedInput() const { return session_.HasBufferedInput(); }
  // After Finish(): drops the records of the finished request that are
  // already buffered (the STDIN it did not read, its empty end record)
  // without reading the socket. Returns HasBufferedInput(): true only if
  // the client already sent more (a pipelined request).
  bool DropFinishedInput();
  // Bytes of a request were received but it is not complete yet.
  bool MidRequest() const { return session_.mid_request(); }
  // Answers are waiting for the socket to take them: park it for
  // writability too (the next ReadRequest() sends what it can).
  bool WantsWrite() const { return session_.has_output(); }
  // The connection may serve another request (no EOF, no error, no
  // protocol violation; an FCGI_ABORT_REQUEST leaves it usable).
  bool reusable() const { return !broken_; }
  // Between requests: gives back what a large request made the buffers
  // grow to, keeping a small working size.
  void ReleaseBuffers() { session_.ReleaseBuffers(); }
  // Bytes its buffers hold (capacity, not use): what it costs parked.
  size_t buffered_bytes() const { return session_.buffered_bytes(); }
  // The writes of the request never wait for the socket (a request answered
  // by the process's main thread, which must never block on a client).
  void SetNonBlockingWrites() { nonblocking_writes_ = true; }

  // Hand-off markers (see the class comment).
  void Release() { handoff_.store(handoff_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
  void Acquire() { (void)handoff_.load(std::memory_order_acquire); }
  bool in_poller = false;       // registered with the Dispatcher's epoll (owner thread only)
  // Set at construction: a key for observers that must not dereference.
  uint64_t id = 0;
  // When it was last parked (steady µs), for max_wait_time; written by the
  // parking thread before it re-arms, read by the process's main thread.
  std::atomic<int64_t> parked_us{0};
  bool parked_partial = false;  // parked holding half a request (owner thread only)
  // Steady µs when its current request arrived, for the queue wait
  // histogram (scoreboard/histogram.h): the accept for the first request
  // of a connection, else when a thread first read from it after the last
  // request; 0 between requests (owner thread only).
  int64_t arrival_us = 0;
  // Steady ms when it was first parked holding half of the current request;
  // 0 when it holds none (owner thread only; published in partial_since_ms).
  int64_t partial_start_ms = 0;
  // Steady-clock ms since which the connection is parked with no request
  // bytes; 0 while a thread holds it or it holds half a request. Written by
  // the owner thread, read by the draining main thread (Dispatcher::QuietFor).
  std::atomic<int64_t> idle_since_ms{0};
  // Steady-clock ms since which it is parked holding half a request (for
  // request_header_timeout); 0 otherwise. Same writer and reader.
  std::atomic<int64_t> partial_since_ms{0};
  // Set by the main thread when it ended the connection for a timeout
  // (shutdown(2); the thread that sees the EOF closes it): counted once.
  std::atomic<bool> expired{false};

  // fastcgi::Exchange
  uint16_t role() const override { return session_.role(); }
  std::span<const Param> params() const override { return session_.params(); }
  ssize_t ReadStdin(std::span<char> buf) override;
  bool WriteStdout(std::string_view data) override;
  bool WriteStderr(std::string_view data) override;
  bool Flush() override;
  void Finish(uint32_t app_status) override;
  bool finished() const override { return finished_; }
  bool aborted() const override { return broken_ || session_.abort_received(); }
  int socket_fd() const override { return fd_.get(); }
  void SetInputDeadline(int64_t monotonic_us) override { input_deadline_us_ = monotonic_us; }
  bool input_timed_out() const override { return input_timed_out_; }

 private:
  enum class Fill { kData, kAgain, kEof, kTimeout, kInterrupted };

  // Reads more bytes into the session's input buffer; `block` waits in
  // poll(2) until input_deadline_us_.
  Fill FillInput(bool block);
  // A kClose from the session: broken, counted and logged unless it was
  // an orderly close after an answer (then the answer is sent first).
  void OnClose(const fastcgi::ServerSession::Event& event);
  // Appends response bytes; sends at kFlushThreshold.
  bool Append(bool to_stderr, std::string_view data);
  // Sends what the socket takes now, without waiting; false (and broken)
  // on an error or when more than max_output stays unsent.
  bool FlushPending();
  // Sends everything, waiting for the socket unless nonblocking_writes_.
  bool SendAll();

  os::UniqueFd fd_;
  const ConnectionConfig* config_;
  std::atomic<uint32_t> handoff_{0};
  fastcgi::ServerSession session_;

  // The unread rest of the current STDIN record (inside the session's
  // input buffer, valid until it is asked for more).
  std::string_view stdin_pending_;
  bool broken_ = false;  // EOF, socket error or protocol violation: close it
  bool nonblocking_writes_ = false;
  bool finished_ = false;
  int64_t input_deadline_us_ = 0;  // CLOCK_MONOTONIC; 0 = none
  bool input_timed_out_ = false;
};

}  // namespace tfpm::worker
