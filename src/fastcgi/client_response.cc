#include "fastcgi/client_response.h"

#include <algorithm>

namespace tfpm::fastcgi {

ResponseReader::ResponseReader(uint16_t request_id) : request_id_(request_id) {}

void ResponseReader::Reset(uint16_t request_id) {
  request_id_ = request_id;
  partial_.clear();
  stdout_.clear();
  stderr_.clear();
  app_status_ = 0;
  protocol_status_ = ProtocolStatus::kRequestComplete;
  done_ = false;
  error_ = Status::Ok();
}

Status ResponseReader::Fail(Status status) {
  error_ = std::move(status);
  return error_;
}

Status ResponseReader::Feed(std::string_view data) {
  if (!error_.ok()) return error_;
  Record record;
  size_t consumed = 0;
  Status error;
  // First complete a record left over from the previous call, copying only
  // the bytes it still lacks.
  while (!partial_.empty()) {
    switch (ParseRecord(partial_, &record, &consumed, &error)) {
      case ParseResult::kError:
        return Fail(std::move(error));
      case ParseResult::kRecord: {
        Status s = HandleRecord(record);
        if (!s.ok()) return Fail(std::move(s));
        partial_.clear();
        break;
      }
      case ParseResult::kNeedMore: {
        if (data.empty()) return Status::Ok();
        size_t want = kHeaderLength;
        if (partial_.size() >= kHeaderLength) {
          const RecordHeader h = DecodeHeader(reinterpret_cast<const uint8_t*>(partial_.data()));
          want += h.content_length + h.padding_length;
        }
        const size_t take = std::min(want - partial_.size(), data.size());
        partial_.append(data.substr(0, take));
        data.remove_prefix(take);
        break;
      }
    }
  }
  // Then parse whole records straight from `data`.
  while (!data.empty()) {
    if (done_) {
      return Fail(Status::Protocol("FastCGI response: data after END_REQUEST for request " +
                                   std::to_string(request_id_)));
    }
    switch (ParseRecord(data, &record, &consumed, &error)) {
      case ParseResult::kError:
        return Fail(std::move(error));
      case ParseResult::kNeedMore:
        partial_.assign(data);
        return Status::Ok();
      case ParseResult::kRecord: {
        Status s = HandleRecord(record);
        if (!s.ok()) return Fail(std::move(s));
        data.remove_prefix(consumed);
        break;
      }
    }
  }
  return Status::Ok();
}

Status ResponseReader::HandleRecord(const Record& record) {
  const auto type = static_cast<unsigned>(record.header.type);
  if (record.header.request_id != request_id_) {
    return Status::Protocol("FastCGI response: record type " + std::to_string(type) +
                            " for request " + std::to_string(record.header.request_id) +
                            ", expected " + std::to_string(request_id_));
  }
  switch (record.header.type) {
    case RecordType::kStdout:
      stdout_.append(record.content);
      return Status::Ok();
    case RecordType::kStderr:
      stderr_.append(record.content);
      return Status::Ok();
    case RecordType::kEndRequest: {
      Status s = DecodeEndRequest(record.content, &app_status_, &protocol_status_);
      if (s.ok()) done_ = true;
      return s;
    }
    default:
      return Status::Protocol("FastCGI response: unexpected record type " + std::to_string(type) +
                              " for request " + std::to_string(request_id_));
  }
}

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "404", "404 Not Found" -> 404; false unless a code in 100..999 leads.
bool ParseStatusCode(std::string_view value, int* status) {
  if (value.size() < 3 || !IsDigit(value[0]) || !IsDigit(value[1]) || !IsDigit(value[2])) {
    return false;
  }
  if (value.size() > 3 && value[3] != ' ' && value[3] != '\t') return false;
  const int code = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
  if (code < 100) return false;
  *status = code;
  return true;
}

}  // namespace

Status ParseCgiResponse(std::string_view stdout_data, CgiResponse* out) {
  out->status = 200;
  out->headers.clear();
  out->body = {};
  size_t pos = 0;
  for (int line_number = 1;; ++line_number) {
    const size_t eol = stdout_data.find('\n', pos);
    if (eol == std::string_view::npos) {
      return Status::Protocol("CGI response: no empty line ending the headers in " +
                              std::to_string(stdout_data.size()) + " bytes");
    }
    std::string_view line = stdout_data.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol + 1;
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Status::Protocol("CGI response: header line " + std::to_string(line_number) +
                              " has no ':'");
    }
    const std::string_view name = Trim(line.substr(0, colon));
    const std::string_view value = Trim(line.substr(colon + 1));
    if (name.empty()) {
      return Status::Protocol("CGI response: header line " + std::to_string(line_number) +
                              " has an empty name");
    }
    if (EqualsIgnoreCase(name, "Status")) {
      if (!ParseStatusCode(value, &out->status)) {
        return Status::Protocol("CGI response: header line " + std::to_string(line_number) +
                                ": bad Status \"" + std::string(value) + "\"");
      }
      continue;
    }
    out->headers.emplace_back(name, value);
  }
  out->body = stdout_data.substr(pos);
  return Status::Ok();
}

}  // namespace tfpm::fastcgi
