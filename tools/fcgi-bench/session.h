// The client side of FastCGI exchanges on one connection, without I/O: the
// caller owns the socket, writes what PendingOutput() returns, reports what
// was written with Wrote(), and feeds what it reads to OnRead() / OnEof().
// One request at a time (no multiplexing), always with the same request id.
//
// Lifecycle:  Start() -> [Wrote()/OnRead()]* -> a finished Outcome
//             -> Start() again (if kept, on the same connection) ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fastcgi/client_response.h"
#include "tools/fcgi-bench/validate.h"

namespace tfpm::bench {

struct Outcome {
  bool finished = false;  // false: the exchange is still going on
  Verdict verdict;        // when finished
};

class Session {
 public:
  // `request` is the fully encoded request (EncodeRequest with the same
  // `request_id`); it and `expect` must outlive the session. With
  // `keep_conn` the request must carry FCGI_KEEP_CONN; the session then
  // expects the connection to stay usable after END_REQUEST.
  Session(std::string_view request, uint16_t request_id, bool keep_conn,
          const Expectation* expect);

  // Begins a new exchange: all of the request becomes pending output and the
  // response reader is reset. Requires no exchange in progress.
  void Start();

  // Request bytes not yet written (empty once all are written).
  std::string_view PendingOutput() const { return request_.substr(written_); }
  // Records that the first `n` bytes of PendingOutput() were written.
  // Requires n <= PendingOutput().size().
  void Wrote(size_t n) { written_ += n; }

  // Feeds received bytes. Returns finished once END_REQUEST has been read
  // (verdict from ValidateResponse) or the bytes are malformed (kProtocol).
  // Requires an exchange in progress.
  Outcome OnRead(std::string_view data);

  // The server closed the connection (read returned 0) before END_REQUEST:
  // a finished kRead failure saying how far the exchange got.
  Outcome OnEof();

  // True between Start() and a finished Outcome.
  bool in_progress() const { return in_progress_; }
  // Whether the connection may carry the next exchange: keep_conn was
  // requested, the last exchange finished cleanly at END_REQUEST (success
  // or a status/body failure) and all of the request had been written.
  bool reusable() const { return reusable_; }
  // Exchanges started on this session (a counter for messages and tests).
  uint64_t exchanges() const { return exchanges_; }
  // Bytes received in the current exchange.
  uint64_t bytes_received() const { return bytes_received_; }

 private:
  Outcome Finish(Verdict verdict, bool reusable);

  std::string_view request_;
  uint16_t request_id_;
  bool keep_conn_;
  const Expectation* expect_;
  fastcgi::ResponseReader reader_;
  size_t written_ = 0;
  bool in_progress_ = false;
  bool reusable_ = false;
  uint64_t exchanges_ = 0;
  uint64_t bytes_received_ = 0;
};

}  // namespace tfpm::bench
