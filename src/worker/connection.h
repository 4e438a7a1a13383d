// Connection: one accepted FastCGI connection, server side, and the
// fastcgi::Exchange of the request currently on it (FCGI_MPXS_CONNS=0: at
// most one request at a time).
//
// Ownership and threads: a Connection is owned by the Server. At any moment
// it is either parked in the Server's epoll set (EPOLLONESHOT) or held by
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
// Hostile input: a record the server side does not accept (a type a web
// server never sends, or one of ours sent back), a malformed record, PARAMS
// beyond max_params_size / max_params end the connection; each is counted
// in the scoreboard (worker/limit_report.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "fastcgi/exchange.h"
#include "fastcgi/protocol.h"
#include "fastcgi/record.h"
#include "os/unique_fd.h"
#include "scoreboard/scoreboard.h"

namespace tfpm::worker {

// Facts a connection needs about its pool, fixed for the process's life.
struct ConnectionConfig {
  uint32_t max_conns = 1;       // FCGI_MAX_CONNS answer
  uint32_t max_reqs = 1;        // FCGI_MAX_REQS answer: the pool's total threads
  size_t max_params_bytes = 1 << 20;  // max_params_size
  size_t max_params = 10000;          // max_params
  size_t max_output = 1 << 20;        // max_connection_output
  // Read by the Server, not the Connection (see Server::Tick).
  size_t max_connections = 1024;      // per process
  int64_t idle_timeout_ms = 75000;    // connection_idle_timeout
  int64_t header_timeout_ms = 30000;  // request_header_timeout
  // Where trips of the limits are counted; nullptr = nowhere.
  scoreboard::Header* board = nullptr;
  // The Server's drain flag: set, a kept connection is ended after its
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
  // Reads what the socket has without blocking and parses it: answers
  // management records (GET_VALUES), collects BEGIN_REQUEST and PARAMS.
  // kRequestReady: params() is complete and the request may be executed.
  // kClose: EOF, error or a protocol violation (logged); close it.
  Progress ReadRequest();

  bool keep_conn() const { return keep_conn_; }
  // True if parsed-but-unused bytes are buffered (a pipelined next request).
  bool HasBufferedInput() const { return in_begin_ < in_end_; }
  // After Finish(): drops the records of the finished request that are
  // already buffered (the STDIN it did not read, its empty end record)
  // without reading the socket. Returns HasBufferedInput(): true only if
  // the client already sent more (a pipelined request).
  bool DropFinishedInput();
  // Bytes of a request were received but it is not complete yet.
  bool MidRequest() const { return state_ == State::kParams; }
  // Answers are waiting for the socket to take them: park it for
  // writability too (the next ReadRequest() sends what it can).
  bool WantsWrite() const { return !out_.empty(); }
  // The connection may serve another request (no EOF, no error, no
  // protocol violation; an FCGI_ABORT_REQUEST leaves it usable).
  bool reusable() const { return !broken_; }
  // Between requests: gives back what a large request made the buffers
  // grow to, keeping a small working size.
  void ReleaseBuffers();
  // Bytes its buffers hold (capacity, not use): what it costs parked.
  size_t buffered_bytes() const {
    return in_cap_ + out_.capacity() + params_raw_.capacity() + params_store_.capacity() +
           params_.capacity() * sizeof(Param);
  }
  // The writes of the request never wait for the socket (a request answered
  // by the process's main thread, which must never block on a client).
  void SetNonBlockingWrites() { nonblocking_writes_ = true; }

  // Hand-off markers (see the class comment).
  void Release() { handoff_.store(handoff_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
  void Acquire() { (void)handoff_.load(std::memory_order_acquire); }
  bool in_poller = false;       // registered with the Server's epoll (owner thread only)
  // Set at construction: a key for observers that must not dereference.
  uint64_t id = 0;
  // When it was last parked (steady µs), for max_wait_time; written by the
  // parking thread before it re-arms, read by the process's main thread.
  std::atomic<int64_t> parked_us{0};
  bool parked_partial = false;  // parked holding half a request (owner thread only)
  // Steady ms when it was first parked holding half of the current request;
  // 0 when it holds none (owner thread only; published in partial_since_ms).
  int64_t partial_start_ms = 0;
  // Steady-clock ms since which the connection is parked with no request
  // bytes; 0 while a thread holds it or it holds half a request. Written by
  // the owner thread, read by the draining main thread (Server::QuietFor).
  std::atomic<int64_t> idle_since_ms{0};
  // Steady-clock ms since which it is parked holding half a request (for
  // request_header_timeout); 0 otherwise. Same writer and reader.
  std::atomic<int64_t> partial_since_ms{0};
  // Set by the main thread when it ended the connection for a timeout
  // (shutdown(2); the thread that sees the EOF closes it): counted once.
  std::atomic<bool> expired{false};

  // fastcgi::Exchange
  uint16_t role() const override { return role_; }
  std::span<const Param> params() const override { return params_; }
  ssize_t ReadStdin(std::span<char> buf) override;
  bool WriteStdout(std::string_view data) override;
  bool WriteStderr(std::string_view data) override;
  bool Flush() override;
  void Finish(uint32_t app_status) override;
  bool finished() const override { return finished_; }
  bool aborted() const override { return broken_ || abort_requested_; }
  int socket_fd() const override { return fd_.get(); }
  void SetInputDeadline(int64_t monotonic_us) override { input_deadline_us_ = monotonic_us; }
  bool input_timed_out() const override { return input_timed_out_; }

 private:
  enum class State { kIdle, kParams, kActive };
  enum class Fill { kData, kAgain, kEof, kTimeout, kInterrupted };

  // Parses the next whole record from the input buffer and consumes it
  // (logs a protocol error; kError leaves the connection unusable).
  fastcgi::ParseResult NextRecord(fastcgi::Record* record);
  // Reads more bytes into the input buffer; `block` waits in poll(2).
  Fill FillInput(bool block);
  // Handles a record that arrives while no request is active or while one
  // is; returns false on a protocol violation.
  bool HandleManagement(const fastcgi::RecordHeader& header, std::string_view content);
  bool StartParams(std::string_view content, uint16_t request_id);
  bool FinishParams();
  bool Append(fastcgi::RecordType type, std::string_view data);
  // Sends what the socket takes now, without waiting; false (and broken)
  // on an error or when more than max_output stays unsent.
  bool FlushPending();
  // A record that no state accepts: counted, logged (rate-limited); the
  // connection is broken.
  void ProtocolError(const fastcgi::RecordHeader& header);
  // Completes the open STDOUT or STDERR record in out_ (header, padding).
  // Called before anything else is appended and before sending.
  void CloseRecord();
  bool SendAll();
  void Compact();

  os::UniqueFd fd_;
  const ConnectionConfig* config_;
  std::atomic<uint32_t> handoff_{0};

  std::unique_ptr<char[]> in_;
  size_t in_cap_ = 0, in_begin_ = 0, in_end_ = 0;
  std::string out_;
  static constexpr size_t kNoRecord = static_cast<size_t>(-1);
  size_t open_record_ = kNoRecord;  // offset in out_ of the open stream record
  fastcgi::RecordType open_type_ = fastcgi::RecordType::kStdout;  // its type

  State state_ = State::kIdle;
  uint16_t request_id_ = 0;
  uint16_t role_ = 1;
  bool keep_conn_ = false;
  std::string params_raw_;
  std::string params_store_;
  std::vector<Param> params_;
  // The unread rest of the current STDIN record, inside in_.
  size_t stdin_off_ = 0, stdin_left_ = 0;
  bool stdin_ended_ = false;
  // The finished request did not read its body to the end: its STDIN/DATA
  // records may still come and are skipped, up to the empty STDIN record.
  bool leftovers_open_ = false;
  bool broken_ = false;           // EOF, socket error or protocol violation: close it
  bool abort_requested_ = false;  // FCGI_ABORT_REQUEST for the active request
  bool nonblocking_writes_ = false;
  bool finished_ = false;
  int64_t input_deadline_us_ = 0;  // CLOCK_MONOTONIC; 0 = none
  bool input_timed_out_ = false;
};

}  // namespace tfpm::worker
