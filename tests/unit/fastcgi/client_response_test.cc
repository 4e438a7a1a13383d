#include "fastcgi/client_response.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "fastcgi/writer.h"

namespace tfpm::fastcgi {
namespace {

using namespace std::string_view_literals;

// Feeds `bytes` in pieces of `chunk` bytes; returns the first error.
Status FeedInChunks(ResponseReader* reader, std::string_view bytes, size_t chunk) {
  while (!bytes.empty()) {
    const size_t n = std::min(chunk, bytes.size());
    Status s = reader->Feed(bytes.substr(0, n));
    if (!s.ok()) return s;
    bytes.remove_prefix(n);
  }
  return Status::Ok();
}

// A php-fpm-like response for request 1: STDOUT, STDERR, STDOUT, end of
// STDOUT, END_REQUEST (app status 0).
const std::string_view kGoldenResponse =
    "\x01\x06\x00\x01\x00\x1e\x02\x00"
    "Content-type: text/html\r\n\r\nhi!" "\x00\x00"
    "\x01\x07\x00\x01\x00\x04\x04\x00" "warn" "\x00\x00\x00\x00"
    "\x01\x06\x00\x01\x00\x01\x07\x00" "!" "\x00\x00\x00\x00\x00\x00\x00"
    "\x01\x06\x00\x01\x00\x00\x00\x00"
    "\x01\x03\x00\x01\x00\x08\x00\x00" "\x00\x00\x00\x00\x00\x00\x00\x00"sv;

TEST_CASE("ResponseReader decodes a golden response in any split") {
  const size_t chunks[] = {1, 2, 3, 7, 8, 9, 16, 17, 1000};
  for (size_t chunk : chunks) {
    CAPTURE(chunk);
    ResponseReader reader(1);
    const Status s = FeedInChunks(&reader, kGoldenResponse, chunk);
    REQUIRE_MESSAGE(s.ok(), s.message());
    CHECK(reader.done());
    CHECK(reader.stdout_data() == "Content-type: text/html\r\n\r\nhi!!");
    CHECK(reader.stderr_data() == "warn");
    CHECK(reader.app_status() == 0);
    CHECK(reader.protocol_status() == ProtocolStatus::kRequestComplete);
  }
}

TEST_CASE("ResponseReader is not done until END_REQUEST") {
  ResponseReader reader(1);
  const std::string_view before_end = kGoldenResponse.substr(0, kGoldenResponse.size() - 1);
  REQUIRE(reader.Feed(before_end).ok());
  CHECK_FALSE(reader.done());
  CHECK(reader.stdout_data() == "Content-type: text/html\r\n\r\nhi!!");
  REQUIRE(reader.Feed(kGoldenResponse.substr(kGoldenResponse.size() - 1)).ok());
  CHECK(reader.done());
}

TEST_CASE("ResponseReader collects a 200000-byte STDOUT") {
  std::string body(200000, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7);
  std::string wire;
  AppendStream(RecordType::kStdout, 7, body, &wire);
  AppendStreamEnd(RecordType::kStdout, 7, &wire);
  AppendEndRequest(7, 3, ProtocolStatus::kOverloaded, &wire);

  ResponseReader reader(7);
  SUBCASE("all at once") { REQUIRE(reader.Feed(wire).ok()); }
  SUBCASE("byte at a time") { REQUIRE(FeedInChunks(&reader, wire, 1).ok()); }
  SUBCASE("socket-sized reads") { REQUIRE(FeedInChunks(&reader, wire, 4096).ok()); }
  CHECK(reader.done());
  CHECK(reader.stdout_data() == body);
  CHECK(reader.stderr_data().empty());
  CHECK(reader.app_status() == 3);
  CHECK(reader.protocol_status() == ProtocolStatus::kOverloaded);
}

struct ErrorCase {
  const char* name;
  std::string_view wire;
  std::string message;
};

TEST_CASE("ResponseReader errors") {
  const ErrorCase cases[] = {
      {"bad version", "\x02\x06\x00\x01\x00\x00\x00\x00"sv,
       "FastCGI record: version 2, expected 1"},
      {"another request id", "\x01\x06\x00\x02\x00\x00\x00\x00"sv,
       "FastCGI response: record type 6 for request 2, expected 1"},
      {"management record", "\x01\x0b\x00\x00\x00\x08\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00"sv,
       "FastCGI response: record type 11 for request 0, expected 1"},
      {"unexpected type", "\x01\x01\x00\x01\x00\x00\x00\x00"sv,
       "FastCGI response: unexpected record type 1 for request 1"},
      {"short END_REQUEST", "\x01\x03\x00\x01\x00\x04\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00"sv,
       "FastCGI END_REQUEST: body is 4 bytes, expected 8"},
      {"bytes after END_REQUEST",
       "\x01\x03\x00\x01\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x06\x00"sv,
       "FastCGI response: data after END_REQUEST for request 1"},
  };
  for (const ErrorCase& c : cases) {
    INFO(std::string(c.name));
    SUBCASE("all at once") {
      ResponseReader reader(1);
      const Status s = reader.Feed(c.wire);
      CHECK(s.code() == Status::Code::kProtocol);
      CHECK(s.message() == c.message);
    }
    SUBCASE("byte at a time") {
      ResponseReader reader(1);
      const Status s = FeedInChunks(&reader, c.wire, 1);
      CHECK(s.code() == Status::Code::kProtocol);
      CHECK(s.message() == c.message);
    }
  }
}

TEST_CASE("ResponseReader errors are sticky until Reset") {
  ResponseReader reader(1);
  CHECK_FALSE(reader.Feed("\x01\x06\x00\x09\x00\x00\x00\x00"sv).ok());
  // Even valid bytes are refused now.
  const Status again = reader.Feed("\x01\x06\x00\x01\x00\x00\x00\x00"sv);
  CHECK(again.message() == "FastCGI response: record type 6 for request 9, expected 1");

  reader.Reset(9);
  REQUIRE(reader.Feed("\x01\x06\x00\x09\x00\x02\x06\x00" "ok\x00\x00\x00\x00\x00\x00"sv).ok());
  CHECK(reader.stdout_data() == "ok");
  CHECK_FALSE(reader.done());
}

TEST_CASE("ResponseReader Reset reuses the reader on a kept connection") {
  std::string wire;
  AppendStream(RecordType::kStdout, 1, "first", &wire);
  AppendStream(RecordType::kStderr, 1, "oops", &wire);
  AppendEndRequest(1, 1, ProtocolStatus::kRequestComplete, &wire);
  ResponseReader reader(1);
  REQUIRE(reader.Feed(wire).ok());
  REQUIRE(reader.done());
  CHECK(reader.app_status() == 1);

  reader.Reset(2);
  CHECK_FALSE(reader.done());
  CHECK(reader.stdout_data().empty());
  CHECK(reader.stderr_data().empty());
  CHECK(reader.app_status() == 0);
  wire.clear();
  AppendStream(RecordType::kStdout, 2, "second", &wire);
  AppendEndRequest(2, 0, ProtocolStatus::kRequestComplete, &wire);
  REQUIRE(FeedInChunks(&reader, wire, 5).ok());
  CHECK(reader.done());
  CHECK(reader.stdout_data() == "second");
}

TEST_CASE("ResponseReader Reset drops a buffered partial record") {
  ResponseReader reader(1);
  REQUIRE(reader.Feed("\x01\x06\x00\x01\x00\x05"sv).ok());
  reader.Reset(1);
  std::string wire;
  AppendEndRequest(1, 0, ProtocolStatus::kRequestComplete, &wire);
  REQUIRE(reader.Feed(wire).ok());
  CHECK(reader.done());
  CHECK(reader.stdout_data().empty());
}

struct CgiCase {
  const char* name;
  std::string_view input;
  int status;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
};

TEST_CASE("ParseCgiResponse table") {
  const CgiCase cases[] = {
      {"default 200", "Content-type: text/html\r\n\r\n<p>hi</p>"sv, 200,
       {{"Content-type", "text/html"}}, "<p>hi</p>"sv},
      {"Status header", "Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nmissing"sv, 404,
       {{"Content-Type", "text/plain"}}, "missing"sv},
      {"lower-case status, code only", "status: 302\r\nLocation: /x\r\n\r\n"sv, 302,
       {{"Location", "/x"}}, ""sv},
      {"bare LF line ends", "STATUS:500 Oops\nX-A: 1\n\nbody\n"sv, 500, {{"X-A", "1"}},
       "body\n"sv},
      {"order and duplicates kept, values trimmed",
       "Set-Cookie: a=1\r\nSet-Cookie:\tb=2  \r\nX-Empty:\r\n\r\n"sv, 200,
       {{"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}, {"X-Empty", ""}}, ""sv},
      {"only the first blank line ends headers", "A: b\r\n\r\nline\r\n\r\nmore"sv, 200,
       {{"A", "b"}}, "line\r\n\r\nmore"sv},
      {"value may contain colons", "Location: http://h:8080/\r\n\r\n"sv, 200,
       {{"Location", "http://h:8080/"}}, ""sv},
      {"no headers", "\r\nbody"sv, 200, {}, "body"sv},
  };
  for (const CgiCase& c : cases) {
    INFO(std::string(c.name));
    CgiResponse out;
    out.headers = {{"stale", "entry"}};
    REQUIRE(ParseCgiResponse(c.input, &out).ok());
    CHECK(out.status == c.status);
    CHECK(out.headers == c.headers);
    CHECK(out.body == c.body);
  }
}

TEST_CASE("ParseCgiResponse body is a view into the input") {
  const std::string_view input = "A: b\n\nxyz"sv;
  CgiResponse out;
  REQUIRE(ParseCgiResponse(input, &out).ok());
  CHECK(out.body.data() == input.data() + 6);
}

struct CgiErrorCase {
  const char* name;
  std::string_view input;
  std::string message;
};

TEST_CASE("ParseCgiResponse errors") {
  const CgiErrorCase cases[] = {
      {"no terminator", "Content-Type: text/html\r\n"sv,
       "CGI response: no empty line ending the headers in 25 bytes"},
      {"empty stdout", ""sv, "CGI response: no empty line ending the headers in 0 bytes"},
      {"line without colon", "A: b\r\nbogus\r\n\r\n"sv, "CGI response: header line 2 has no ':'"},
      {"empty name", ": x\r\n\r\n"sv, "CGI response: header line 1 has an empty name"},
      {"non-numeric status", "Status: abc\r\n\r\n"sv,
       "CGI response: header line 1: bad Status \"abc\""},
      {"status below 100", "Status: 099\r\n\r\n"sv,
       "CGI response: header line 1: bad Status \"099\""},
      {"four-digit status", "Status: 2000\r\n\r\n"sv,
       "CGI response: header line 1: bad Status \"2000\""},
  };
  for (const CgiErrorCase& c : cases) {
    INFO(std::string(c.name));
    CgiResponse out;
    const Status s = ParseCgiResponse(c.input, &out);
    CHECK(s.code() == Status::Code::kProtocol);
    CHECK(s.message() == c.message);
  }
}

TEST_CASE("ResponseReader output feeds ParseCgiResponse") {
  ResponseReader reader(1);
  REQUIRE(reader.Feed(kGoldenResponse).ok());
  CgiResponse out;
  REQUIRE(ParseCgiResponse(reader.stdout_data(), &out).ok());
  CHECK(out.status == 200);
  CHECK(out.headers == std::vector<std::pair<std::string, std::string>>{
                           {"Content-type", "text/html"}});
  CHECK(out.body == "hi!!");
}

}  // namespace
}  // namespace tfpm::fastcgi
