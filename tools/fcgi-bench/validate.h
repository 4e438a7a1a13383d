// What counts as a good response, and the kinds of failure fcgi-bench
// reports. Pure: no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "fastcgi/client_response.h"

namespace tfpm::bench {

// Why a request failed. Every request ends either as a success or as exactly
// one of these.
enum class ErrorKind {
  kConnect,   // socket()/connect() failed
  kWrite,     // sending the request failed (e.g. EPIPE, ECONNRESET)
  kRead,      // recv() failed, or the server closed before END_REQUEST
  kProtocol,  // malformed records, wrong request id, protocolStatus != 0,
              // or a STDOUT that is not a CGI response
  kStatus,    // the CGI status differs from the expected one
  kBody,      // the body fails --expect-sha256 / --expect-body-contains
  kTimeout,   // no END_REQUEST within the timeout (connect included)
};
inline constexpr size_t kErrorKindCount = 7;

// "connect", "write", "read", "protocol", "status", "body", "timeout".
std::string_view ErrorKindName(ErrorKind kind);
inline size_t ErrorKindIndex(ErrorKind kind) { return static_cast<size_t>(kind); }

struct Expectation {
  int status = 200;                          // 0 = any status
  std::optional<std::string> sha256_hex;     // lower- or upper-case hex
  std::optional<std::string> body_contains;  // substring of the body
};

// The outcome of one finished exchange.
struct Verdict {
  bool ok = false;
  ErrorKind kind = ErrorKind::kProtocol;  // meaningful when !ok
  std::string message;                    // when !ok: what was wrong
  size_t body_bytes = 0;                  // CGI body size, when it parsed
};

// Judges a response whose END_REQUEST has been read (reader.done()): the
// protocolStatus must be REQUEST_COMPLETE and STDOUT a CGI response
// (ParseCgiResponse) -> else kProtocol; its status must equal
// expect.status unless that is 0 -> else kStatus; the body must hash to
// expect.sha256_hex and contain expect.body_contains when set -> else kBody.
// STDERR output and the appStatus are not judged.
Verdict ValidateResponse(const fastcgi::ResponseReader& reader, const Expectation& expect);

}  // namespace tfpm::bench
