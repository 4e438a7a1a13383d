// Exchange: the application-facing side of one FastCGI request — what the
// PHP SAPI sees (our analogue of NGINX Unit's nxt_unit_request_info_t). The
// SAPI depends on this interface only, never on record parsing or sockets.
//
// Threading: an Exchange is used by exactly one thread (the PHP thread that
// serves the request) from the moment it is handed over until Finish().
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

namespace tfpm::fastcgi {

class Exchange {
 public:
  using Param = std::pair<std::string_view, std::string_view>;

  virtual ~Exchange() = default;

  // FastCGI role of the request (1 responder, 2 authorizer, 3 filter).
  virtual uint16_t role() const = 0;

  // CGI params in arrival order. Each name and value is followed by a '\0'
  // in memory (so .data() can be handed to C APIs); they stay valid until
  // the request is finished and the next one begins.
  virtual std::span<const Param> params() const = 0;

  // Reads up to `buf.size()` bytes of the request body (FCGI_STDIN),
  // blocking until some arrive. 0 = end of body (or the wait was cut short:
  // input deadline, or the thread's interrupt flag, base/interrupt.h);
  // -1 = the client went away or sent bad bytes (the request is then
  // aborted()).
  virtual ssize_t ReadStdin(std::span<char> buf) = 0;

  // Response bytes (FCGI_STDOUT / FCGI_STDERR). Buffered; false once the
  // client is gone (aborted()). Writes after Finish() are dropped and
  // return true.
  virtual bool WriteStdout(std::string_view data) = 0;
  virtual bool WriteStderr(std::string_view data) = 0;
  // Sends what is buffered. false if the client is gone.
  virtual bool Flush() = 0;

  // Completes the request: flushes, ends the streams, sends END_REQUEST with
  // `app_status`. Idempotent. The connection may be reused afterwards.
  virtual void Finish(uint32_t app_status) = 0;
  virtual bool finished() const = 0;
  // The client closed the connection or sent FCGI_ABORT_REQUEST.
  virtual bool aborted() const = 0;

  // max_input_time: ReadStdin() stops waiting for body bytes at this
  // CLOCK_MONOTONIC time (microseconds; 0 = never) and returns 0, and
  // input_timed_out() becomes true. The response can still be sent.
  virtual void SetInputDeadline(int64_t /*monotonic_us*/) {}
  virtual bool input_timed_out() const { return false; }

  // The socket the request arrived on, or -1 (not a socket). Timeouts use
  // it to tell the request's own connection from the script's sockets.
  virtual int socket_fd() const { return -1; }
};

// A 503 answer (Retry-After: 1) for a request that will not run: `why` on
// FCGI_STDERR for the web server's log, `body` as the page. Finishes it.
inline void RespondUnavailable(Exchange& exchange, std::string_view why,
                               std::string_view body = "Service Unavailable\n") {
  exchange.WriteStderr(why);
  exchange.WriteStdout("Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 1\r\n\r\n");
  exchange.WriteStdout(body);
  exchange.Finish(0);
}

}  // namespace tfpm::fastcgi
