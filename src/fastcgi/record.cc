#include "fastcgi/record.h"

#include <string>

namespace tfpm::fastcgi {

namespace {

const uint8_t* Bytes(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

}  // namespace

ParseResult ParseRecord(std::string_view data, Record* record, size_t* consumed, Status* error) {
  *consumed = 0;
  if (data.size() < kHeaderLength) return ParseResult::kNeedMore;
  const RecordHeader header = DecodeHeader(Bytes(data));
  if (header.version != kVersion1) {
    *error = Status::Protocol("FastCGI record: version " + std::to_string(header.version) +
                              ", expected 1");
    return ParseResult::kError;
  }
  const size_t total = kHeaderLength + header.content_length + header.padding_length;
  if (data.size() < total) return ParseResult::kNeedMore;
  record->header = header;
  record->content = data.substr(kHeaderLength, header.content_length);
  *consumed = total;
  return ParseResult::kRecord;
}

Status DecodeBeginRequest(std::string_view content, BeginRequestBody* body) {
  if (content.size() != 8) {
    return Status::Protocol("FastCGI BEGIN_REQUEST: body is " + std::to_string(content.size()) +
                            " bytes, expected 8");
  }
  body->role = static_cast<Role>(DecodeU16BE(Bytes(content)));
  body->flags = Bytes(content)[2];
  return Status::Ok();
}

Status DecodeEndRequest(std::string_view content, uint32_t* app_status,
                        ProtocolStatus* protocol_status) {
  if (content.size() != 8) {
    return Status::Protocol("FastCGI END_REQUEST: body is " + std::to_string(content.size()) +
                            " bytes, expected 8");
  }
  *app_status = DecodeU32BE(Bytes(content));
  *protocol_status = static_cast<ProtocolStatus>(Bytes(content)[4]);
  return Status::Ok();
}

}  // namespace tfpm::fastcgi
