// Stateless parsing of whole FastCGI records from a caller-owned buffer, and
// decoding of the fixed-size BEGIN_REQUEST and END_REQUEST bodies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/status.h"
#include "fastcgi/protocol.h"

namespace tfpm::fastcgi {

// One record as found on the wire. `content` points into the caller's bytes
// (padding excluded) and is valid as long as they are.
struct Record {
  RecordHeader header;
  std::string_view content;
};

enum class ParseResult { kRecord, kNeedMore, kError };

// Parses one record from the front of `data`.
//  kRecord:   *record is set; *consumed = 8 + content_length + padding_length.
//  kNeedMore: `data` does not hold a whole record yet; nothing is written to
//             *record and *consumed is 0. A version error is reported as soon
//             as the 8 header bytes are present, without waiting for content.
//  kError:    the header's version is not kVersion1; *error says so and
//             *consumed is 0. The stream cannot be resynchronised.
// Unknown record types are not an error (a server answers them with
// UNKNOWN_TYPE); `record->header.type` carries the raw value.
ParseResult ParseRecord(std::string_view data, Record* record, size_t* consumed, Status* error);

// BEGIN_REQUEST body. `role` may hold a value Role does not name.
struct BeginRequestBody {
  Role role = Role::kResponder;
  uint8_t flags = 0;
};

// Decodes a BEGIN_REQUEST body. Returns a Protocol error (and leaves *body
// unchanged) unless `content` is exactly 8 bytes. The role is not checked.
Status DecodeBeginRequest(std::string_view content, BeginRequestBody* body);

// Decodes an END_REQUEST body. Returns a Protocol error (and leaves the
// outputs unchanged) unless `content` is exactly 8 bytes. The protocol status
// is returned as found, even if ProtocolStatus does not name it.
Status DecodeEndRequest(std::string_view content, uint32_t* app_status,
                        ProtocolStatus* protocol_status);

}  // namespace tfpm::fastcgi
