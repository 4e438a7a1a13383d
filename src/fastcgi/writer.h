// Encoders for FastCGI records. Each appends whole records to a caller-owned
// std::string and never shrinks or clears it, so callers can reuse one buffer
// per connection. Stream contents are split into records of at most
// kMaxContentLength bytes, each padded with zero bytes to a multiple of 8
// (as php-fpm does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fastcgi/protocol.h"

namespace tfpm::fastcgi {

// Padding that brings `content_length` to a multiple of 8 (0 to 7). For a
// zero-copy writer that builds headers itself: pair it with zero bytes.
inline uint8_t PaddingLength(size_t content_length) {
  return static_cast<uint8_t>((8 - content_length % 8) % 8);
}

// Appends `content` as records of `type` for `request_id`: full records of
// kMaxContentLength bytes, then one with the rest. Empty content appends
// nothing (use AppendStreamEnd to end the stream).
void AppendStream(RecordType type, uint16_t request_id, std::string_view content, std::string* out);

// Appends the empty record (content_length 0, no padding) that ends a stream.
void AppendStreamEnd(RecordType type, uint16_t request_id, std::string* out);

// Appends an END_REQUEST record: 8 header bytes + 8 body bytes.
void AppendEndRequest(uint16_t request_id, uint32_t app_status, ProtocolStatus status,
                      std::string* out);

// Appends a GET_VALUES_RESULT management record (request id 0) holding the
// pairs in order. With no pairs it is one empty record. Content over
// kMaxContentLength (never the case for the spec's three variables) would be
// split across records.
void AppendGetValuesResult(const std::vector<std::pair<std::string, std::string>>& values,
                           std::string* out);

// Appends an UNKNOWN_TYPE management record (request id 0) naming `type`.
void AppendUnknownType(uint8_t type, std::string* out);

// ---- Client side (load generator, tests) ----

// Appends a BEGIN_REQUEST record. `flags` is 0 or kFlagKeepConn.
void AppendBeginRequest(uint16_t request_id, Role role, uint8_t flags, std::string* out);

// Appends the pairs encoded as PARAMS records (split like AppendStream, a pair
// may straddle records), then the empty PARAMS record. Requires every name
// and value to be at most kMaxParamLength bytes.
void AppendParams(uint16_t request_id,
                  const std::vector<std::pair<std::string, std::string>>& params,
                  std::string* out);

// Appends `body` as STDIN records, then the empty STDIN record.
void AppendStdin(uint16_t request_id, std::string_view body, std::string* out);

}  // namespace tfpm::fastcgi
