#include "supervisor/unavailable.h"

#include <doctest/doctest.h>

#include <string>

#include "fastcgi/client_response.h"
#include "fastcgi/writer.h"

namespace tfpm::supervisor {
namespace {

using fastcgi::RecordType;

// What nginx sends for a GET: BEGIN_REQUEST, PARAMS, empty STDIN.
std::string Request(uint16_t id) {
  std::string out;
  fastcgi::AppendBeginRequest(id, fastcgi::Role::kResponder, fastcgi::kFlagKeepConn, &out);
  fastcgi::AppendParams(id, {{"REQUEST_METHOD", "GET"}, {"SCRIPT_FILENAME", "/srv/index.php"}}, &out);
  fastcgi::AppendStdin(id, "", &out);
  return out;
}

TEST_CASE("the BEGIN_REQUEST is found whatever follows it, with its request id") {
  const std::string req = Request(7);
  BeginScan scan = ScanForBeginRequest(req);
  CHECK(scan.result == BeginScan::Result::kFound);
  CHECK(scan.request_id == 7);
  CHECK(scan.consumed == 0);
}

TEST_CASE("bytes split anywhere: need more until the BEGIN_REQUEST is whole") {
  const std::string req = Request(1);
  for (size_t cut = 0; cut < 16; ++cut) {
    CAPTURE(cut);
    BeginScan scan = ScanForBeginRequest(std::string_view(req).substr(0, cut));
    CHECK(scan.result == BeginScan::Result::kNeedMore);
    CHECK(scan.consumed == 0);
  }
  CHECK(ScanForBeginRequest(std::string_view(req).substr(0, 16)).result == BeginScan::Result::kFound);
}

TEST_CASE("management records before the request are skipped, and consumed") {
  std::string in;
  fastcgi::AppendStream(RecordType::kGetValues, 0, std::string("\x0e\x00" "FCGI_MAX_CONNS", 16), &in);
  const size_t management = in.size();
  BeginScan scan = ScanForBeginRequest(in);
  CHECK(scan.result == BeginScan::Result::kNeedMore);
  CHECK(scan.consumed == management);  // the caller drops them: its buffer stays small
  in += Request(3);
  scan = ScanForBeginRequest(in);
  CHECK(scan.result == BeginScan::Result::kFound);
  CHECK(scan.request_id == 3);
  CHECK(scan.consumed == management);
}

TEST_CASE("a BEGIN_REQUEST on request id 0 is not a request") {
  std::string in;
  fastcgi::AppendBeginRequest(0, fastcgi::Role::kResponder, 0, &in);
  BeginScan scan = ScanForBeginRequest(in);
  CHECK(scan.result == BeginScan::Result::kNeedMore);
  CHECK(scan.consumed == in.size());
}

TEST_CASE("not FastCGI: invalid") {
  CHECK(ScanForBeginRequest("GET / HTTP/1.1\r\nHost: x\r\n\r\n").result == BeginScan::Result::kInvalid);
}

TEST_CASE("the answer is a complete 503 response for that request") {
  const std::string out = UnavailableResponse(5, "tfpm: pool www has failed", "Service Unavailable\n");
  fastcgi::ResponseReader reader(5);
  REQUIRE(reader.Feed(out).ok());
  CHECK(reader.done());
  CHECK(reader.protocol_status() == fastcgi::ProtocolStatus::kRequestComplete);
  CHECK(reader.stderr_data() == "tfpm: pool www has failed");
  fastcgi::CgiResponse cgi;
  REQUIRE(fastcgi::ParseCgiResponse(reader.stdout_data(), &cgi).ok());
  CHECK(cgi.status == 503);
  CHECK(cgi.body == "Service Unavailable\n");
  bool retry_after = false;
  for (const auto& [name, value] : cgi.headers) retry_after = retry_after || name == "Retry-After";
  CHECK(retry_after);
  // Every record padded to 8 bytes, as php-fpm writes them.
  CHECK(out.size() % 8 == 0);
}

}  // namespace
}  // namespace tfpm::supervisor
