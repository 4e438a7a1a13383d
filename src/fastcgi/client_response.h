// Client-side decoding of what a FastCGI responder sends back: the record
// stream for one request (ResponseReader) and the CGI response inside its
// STDOUT (ParseCgiResponse). Used by the load generator and tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "fastcgi/protocol.h"
#include "fastcgi/record.h"

namespace tfpm::fastcgi {

// Collects STDOUT and STDERR for one request id until its END_REQUEST.
// Bytes may be fed split anywhere; only a partial trailing record is copied
// into an internal buffer.
class ResponseReader {
 public:
  explicit ResponseReader(uint16_t request_id);

  // Consumes all of `data`: whole records are processed, a partial trailing
  // record is buffered until the next call. Returns a Protocol error (and
  // keeps returning it until Reset) for: a bad version, a record for another
  // request id (management records, id 0, included), a record type other than
  // STDOUT, STDERR or END_REQUEST, an END_REQUEST body that is not 8 bytes,
  // or any byte after END_REQUEST.
  Status Feed(std::string_view data);

  // True once END_REQUEST for the request has been consumed.
  bool done() const { return done_; }
  // Concatenated STDOUT / STDERR contents received so far.
  const std::string& stdout_data() const { return stdout_; }
  const std::string& stderr_data() const { return stderr_; }
  // From END_REQUEST; 0 and kRequestComplete until done().
  uint32_t app_status() const { return app_status_; }
  ProtocolStatus protocol_status() const { return protocol_status_; }

  // Forgets everything (including an error) and expects `request_id` next,
  // e.g. for the next request on a kept connection. Buffers keep capacity.
  void Reset(uint16_t request_id);

 private:
  Status HandleRecord(const Record& record);
  Status Fail(Status status);

  uint16_t request_id_;
  std::string partial_;  // bytes of an incomplete record
  std::string stdout_;
  std::string stderr_;
  uint32_t app_status_ = 0;
  ProtocolStatus protocol_status_ = ProtocolStatus::kRequestComplete;
  bool done_ = false;
  Status error_;
};

// A CGI response split into its parts. `body` points into the parsed data.
struct CgiResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
};

// Splits a CGI response (the STDOUT stream) into status, headers and body.
// Header lines end in "\r\n" or "\n"; the first empty line ends the headers
// and the body is everything after it. Names and values are trimmed of
// spaces and tabs and kept in order. A "Status" header (name matched
// case-insensitively, value like "404 Not Found") sets `status` and is not
// kept in `headers`; without one the status is 200. Returns a Protocol error
// if there is no empty line, a header line has no ':' or an empty name, or
// the Status value does not start with a 3-digit code in 100..999; *out is
// then unspecified.
Status ParseCgiResponse(std::string_view stdout_data, CgiResponse* out);

}  // namespace tfpm::fastcgi
