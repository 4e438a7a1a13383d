#include "fastcgi/writer.h"

#include <algorithm>

#include "fastcgi/params.h"

namespace tfpm::fastcgi {

namespace {

void AppendHeader(RecordType type, uint16_t request_id, size_t content_length, std::string* out) {
  RecordHeader header;
  header.type = type;
  header.request_id = request_id;
  header.content_length = static_cast<uint16_t>(content_length);
  header.padding_length = PaddingLength(content_length);
  uint8_t bytes[kHeaderLength];
  EncodeHeader(header, bytes);
  out->append(reinterpret_cast<const char*>(bytes), kHeaderLength);
}

// Writes a byte stream of unknown length as records: reserves a header when
// a record opens and fills it in when the record is full or the stream is
// closed, so no temporary copy of the stream is needed.
class RecordSplitter {
 public:
  RecordSplitter(RecordType type, uint16_t request_id, std::string* out)
      : type_(type), request_id_(request_id), out_(out) {}

  void Append(std::string_view bytes) {
    while (!bytes.empty()) {
      if (!open_) Open();
      const size_t n = std::min(bytes.size(), kMaxContentLength - length_);
      out_->append(bytes.data(), n);
      length_ += n;
      bytes.remove_prefix(n);
      if (length_ == kMaxContentLength) Close();
    }
  }

  // Finishes the open record, if any.
  void Close() {
    if (!open_) return;
    RecordHeader header;
    header.type = type_;
    header.request_id = request_id_;
    header.content_length = static_cast<uint16_t>(length_);
    header.padding_length = PaddingLength(length_);
    EncodeHeader(header, reinterpret_cast<uint8_t*>(out_->data() + header_pos_));
    out_->append(header.padding_length, '\0');
    open_ = false;
  }

 private:
  void Open() {
    header_pos_ = out_->size();
    out_->append(kHeaderLength, '\0');
    length_ = 0;
    open_ = true;
  }

  RecordType type_;
  uint16_t request_id_;
  std::string* out_;
  bool open_ = false;
  size_t header_pos_ = 0;
  size_t length_ = 0;
};

void AppendParamStream(RecordType type, uint16_t request_id,
                       const std::vector<std::pair<std::string, std::string>>& params,
                       std::string* out) {
  RecordSplitter splitter(type, request_id, out);
  for (const auto& [name, value] : params) {
    uint8_t lengths[8];
    const size_t n = EncodeParamLengths(name.size(), value.size(), lengths);
    splitter.Append(std::string_view(reinterpret_cast<const char*>(lengths), n));
    splitter.Append(name);
    splitter.Append(value);
  }
  splitter.Close();
}

}  // namespace

void AppendStream(RecordType type, uint16_t request_id, std::string_view content,
                  std::string* out) {
  while (!content.empty()) {
    const size_t n = std::min(content.size(), kMaxContentLength);
    AppendHeader(type, request_id, n, out);
    out->append(content.data(), n);
    out->append(PaddingLength(n), '\0');
    content.remove_prefix(n);
  }
}

void AppendStreamEnd(RecordType type, uint16_t request_id, std::string* out) {
  AppendHeader(type, request_id, 0, out);
}

void AppendEndRequest(uint16_t request_id, uint32_t app_status, ProtocolStatus status,
                      std::string* out) {
  AppendHeader(RecordType::kEndRequest, request_id, 8, out);
  uint8_t body[8] = {};
  EncodeU32BE(app_status, body);
  body[4] = static_cast<uint8_t>(status);
  out->append(reinterpret_cast<const char*>(body), sizeof(body));
}

void AppendGetValuesResult(const std::vector<std::pair<std::string, std::string>>& values,
                           std::string* out) {
  if (values.empty()) {
    AppendStreamEnd(RecordType::kGetValuesResult, kNullRequestId, out);
    return;
  }
  AppendParamStream(RecordType::kGetValuesResult, kNullRequestId, values, out);
}

void AppendUnknownType(uint8_t type, std::string* out) {
  AppendHeader(RecordType::kUnknownType, kNullRequestId, 8, out);
  uint8_t body[8] = {type};
  out->append(reinterpret_cast<const char*>(body), sizeof(body));
}

void AppendBeginRequest(uint16_t request_id, Role role, uint8_t flags, std::string* out) {
  AppendHeader(RecordType::kBeginRequest, request_id, 8, out);
  uint8_t body[8] = {};
  EncodeU16BE(static_cast<uint16_t>(role), body);
  body[2] = flags;
  out->append(reinterpret_cast<const char*>(body), sizeof(body));
}

void AppendParams(uint16_t request_id,
                  const std::vector<std::pair<std::string, std::string>>& params,
                  std::string* out) {
  AppendParamStream(RecordType::kParams, request_id, params, out);
  AppendStreamEnd(RecordType::kParams, request_id, out);
}

void AppendStdin(uint16_t request_id, std::string_view body, std::string* out) {
  AppendStream(RecordType::kStdin, request_id, body, out);
  AppendStreamEnd(RecordType::kStdin, request_id, out);
}

}  // namespace tfpm::fastcgi
