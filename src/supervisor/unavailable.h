// The supervisor's own answer on the listening socket of a failed pool
// (pool_health.h): no worker is up to serve it, so rather than leave
// connections waiting in the accept queue, the supervisor answers each with
// 503 itself, without PHP. This file is the pure part: where the client's
// BEGIN_REQUEST is, and the bytes of the answer (tests/unit/supervisor/
// unavailable_test.cc). unavailable_answerer.h does the I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tfpm::supervisor {

// Looks for the first BEGIN_REQUEST in what a client sent so far.
// Management records (request id 0) and records of other types before it are
// skipped unanswered.
struct BeginScan {
  enum class Result {
    kNeedMore,  // no BEGIN_REQUEST yet; drop `consumed` bytes and read on
    kFound,     // `request_id` is the request to answer
    kInvalid,   // not FastCGI (bad version): close the connection
  } result = Result::kNeedMore;
  uint16_t request_id = 0;
  size_t consumed = 0;  // whole records before the BEGIN_REQUEST (or all that was parsed)
};
BeginScan ScanForBeginRequest(std::string_view received);

// The answer to `request_id`: `why` on FCGI_STDERR (the web server's error
// log), a CGI "Status: 503" response with `body` on FCGI_STDOUT, then
// END_REQUEST (request complete).
std::string UnavailableResponse(uint16_t request_id, std::string_view why, std::string_view body);

}  // namespace tfpm::supervisor
