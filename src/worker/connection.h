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
// writes of the response wait in poll(2) on this thread only.
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

namespace tfpm::worker {

// Facts a connection needs about its pool, fixed for the process's life.
struct ConnectionConfig {
  uint32_t max_conns = 1;       // FCGI_MAX_CONNS answer
  uint32_t max_reqs = 1;        // FCGI_MAX_REQS answer: the pool's total threads
  size_t max_params_bytes = 1 << 20;
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
  // Steady-clock ms since which the connection is parked with no request
  // bytes; 0 while a thread holds it or it holds half a request. Written by
  // the owner thread, read by the draining main thread (Server::QuietFor).
  std::atomic<int64_t> idle_since_ms{0};

  // fastcgi::Exchange
  uint16_t role() const override { return role_; }
  std::span<const Param> params() const override { return params_; }
  ssize_t ReadStdin(std::span<char> buf) override;
  bool WriteStdout(std::string_view data) override;
  bool WriteStderr(std::string_view data) override;
  bool Flush() override;
  void Finish(uint32_t app_status) override;
  bool finished() const override { return finished_; }
  bool aborted() const override { return aborted_; }
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
  bool aborted_ = false;
  bool finished_ = false;
  int64_t input_deadline_us_ = 0;  // CLOCK_MONOTONIC; 0 = none
  bool input_timed_out_ = false;
};

}  // namespace tfpm::worker
