#include "supervisor/unavailable.h"

#include "base/status.h"
#include "fastcgi/protocol.h"
#include "fastcgi/record.h"
#include "fastcgi/writer.h"

namespace tfpm::supervisor {

BeginScan ScanForBeginRequest(std::string_view received) {
  BeginScan scan;
  while (scan.consumed < received.size()) {
    fastcgi::Record record;
    size_t used = 0;
    Status error;
    switch (fastcgi::ParseRecord(received.substr(scan.consumed), &record, &used, &error)) {
      case fastcgi::ParseResult::kNeedMore: return scan;
      case fastcgi::ParseResult::kError: scan.result = BeginScan::Result::kInvalid; return scan;
      case fastcgi::ParseResult::kRecord: break;
    }
    if (record.header.type == fastcgi::RecordType::kBeginRequest &&
        record.header.request_id != fastcgi::kNullRequestId) {
      scan.result = BeginScan::Result::kFound;
      scan.request_id = record.header.request_id;
      return scan;
    }
    scan.consumed += used;
  }
  return scan;
}

std::string UnavailableResponse(uint16_t request_id, std::string_view why, std::string_view body) {
  std::string out;
  if (!why.empty()) {
    fastcgi::AppendStream(fastcgi::RecordType::kStderr, request_id, why, &out);
    fastcgi::AppendStreamEnd(fastcgi::RecordType::kStderr, request_id, &out);
  }
  std::string cgi = "Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 5\r\n\r\n";
  cgi.append(body);
  fastcgi::AppendStream(fastcgi::RecordType::kStdout, request_id, cgi, &out);
  fastcgi::AppendStreamEnd(fastcgi::RecordType::kStdout, request_id, &out);
  fastcgi::AppendEndRequest(request_id, 0, fastcgi::ProtocolStatus::kRequestComplete, &out);
  return out;
}

}  // namespace tfpm::supervisor
