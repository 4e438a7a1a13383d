#include "tools/fcgi-bench/session.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "fastcgi/writer.h"
#include "tools/fcgi-bench/request.h"
#include "tools/fcgi-bench/sha256.h"
#include "tools/fcgi-bench/validate.h"

namespace tfpm::bench {
namespace {

using namespace std::string_view_literals;

// A php-fpm-like response to request 1: STDOUT "Content-type: text/html"
// headers and body "hello world\n" in two records, STDERR, end of STDOUT,
// END_REQUEST (app status 0, REQUEST_COMPLETE).
const std::string_view kGolden =
    "\x01\x06\x00\x01\x00\x20\x00\x00"
    "Content-type: text/html\r\n\r\nhello"
    "\x01\x07\x00\x01\x00\x04\x04\x00" "warn" "\x00\x00\x00\x00"
    "\x01\x06\x00\x01\x00\x07\x01\x00" " world\n" "\x00"
    "\x01\x06\x00\x01\x00\x00\x00\x00"
    "\x01\x03\x00\x01\x00\x08\x00\x00" "\x00\x00\x00\x00\x00\x00\x00\x00"sv;

constexpr std::string_view kHelloSha =
    "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";

// Feeds in `chunk`-byte pieces; returns the first finished outcome.
Outcome FeedAll(Session* s, std::string_view bytes, size_t chunk) {
  Outcome last;
  while (!bytes.empty()) {
    const size_t n = std::min(chunk, bytes.size());
    last = s->OnRead(bytes.substr(0, n));
    bytes.remove_prefix(n);
    if (last.finished) return last;
  }
  return last;
}

std::string Response(std::string_view cgi, uint8_t protocol_status = 0) {
  std::string out;
  fastcgi::AppendStream(fastcgi::RecordType::kStdout, 1, cgi, &out);
  fastcgi::AppendStreamEnd(fastcgi::RecordType::kStdout, 1, &out);
  fastcgi::AppendEndRequest(1, 0, static_cast<fastcgi::ProtocolStatus>(protocol_status), &out);
  return out;
}

TEST_CASE("Sha256 known answers") {
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(Sha256Hex("hello world\n") == kHelloSha);
  // Incremental updates split at awkward places equal one update.
  const std::string million(1000000, 'a');
  Sha256 h;
  for (size_t i = 0; i < million.size(); i += 997) {
    h.Update(std::string_view(million).substr(i, 997));
  }
  const auto digest = h.Finish();
  CHECK(ToHex(digest.data(), digest.size()) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("Session: golden response in any split is a success") {
  Expectation expect;
  expect.sha256_hex = std::string(kHelloSha);
  expect.body_contains = "world";
  const std::string request = EncodeRequest({{"A", "1"}}, "", 1, true);
  for (size_t chunk : {1, 2, 7, 8, 9, 31, 1000}) {
    CAPTURE(chunk);
    Session s(request, 1, true, &expect);
    s.Start();
    CHECK(s.in_progress());
    CHECK(s.PendingOutput() == request);
    s.Wrote(10);
    CHECK(s.PendingOutput() == std::string_view(request).substr(10));
    s.Wrote(request.size() - 10);
    CHECK(s.PendingOutput().empty());
    const Outcome o = FeedAll(&s, kGolden, chunk);
    REQUIRE(o.finished);
    CHECK_MESSAGE(o.verdict.ok, o.verdict.message);
    CHECK(o.verdict.body_bytes == 12);
    CHECK(s.reusable());
    CHECK_FALSE(s.in_progress());
    CHECK(s.bytes_received() == kGolden.size());
  }
}

TEST_CASE("Session: not finished before END_REQUEST; EOF is a read error") {
  Expectation expect;
  Session s(""sv, 1, true, &expect);
  s.Start();
  const Outcome partial = s.OnRead(kGolden.substr(0, kGolden.size() - 3));
  CHECK_FALSE(partial.finished);
  const Outcome eof = s.OnEof();
  REQUIRE(eof.finished);
  CHECK_FALSE(eof.verdict.ok);
  CHECK(eof.verdict.kind == ErrorKind::kRead);
  CHECK(eof.verdict.message.find("after 93 response bytes") != std::string::npos);
  CHECK_FALSE(s.reusable());
}

TEST_CASE("Session: a kept session is reused for the next exchange") {
  Expectation expect;
  Session s("req"sv, 1, true, &expect);
  for (int i = 1; i <= 3; ++i) {
    s.Start();
    s.Wrote(3);
    const Outcome o = s.OnRead(kGolden);
    REQUIRE(o.finished);
    CHECK(o.verdict.ok);
    CHECK(s.reusable());
    CHECK(s.exchanges() == static_cast<uint64_t>(i));
  }
}

TEST_CASE("Session: without keep-conn, or with request bytes unwritten, not reusable") {
  Expectation expect;
  Session closing("req"sv, 1, false, &expect);
  closing.Start();
  closing.Wrote(3);
  REQUIRE(closing.OnRead(kGolden).verdict.ok);
  CHECK_FALSE(closing.reusable());

  Session early("request"sv, 1, true, &expect);
  early.Start();
  early.Wrote(2);  // the server answered before reading everything
  const Outcome o = early.OnRead(kGolden);
  REQUIRE(o.finished);
  CHECK(o.verdict.ok);
  CHECK_FALSE(early.reusable());
}

TEST_CASE("Session: wrong status is a status error, connection still reusable") {
  Expectation expect;  // 200
  Session s(""sv, 1, true, &expect);
  s.Start();
  const Outcome o = s.OnRead(Response("Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope"));
  REQUIRE(o.finished);
  CHECK_FALSE(o.verdict.ok);
  CHECK(o.verdict.kind == ErrorKind::kStatus);
  CHECK(o.verdict.message.find("status 404, expected 200") == 0);
  CHECK(o.verdict.message.find("nope") != std::string::npos);
  CHECK(s.reusable());

  Expectation any;
  any.status = 0;
  Session t(""sv, 1, true, &any);
  t.Start();
  CHECK(t.OnRead(Response("Status: 500\r\n\r\nerr")).verdict.ok);

  Expectation not_found;
  not_found.status = 404;
  Session u(""sv, 1, true, &not_found);
  u.Start();
  CHECK(u.OnRead(Response("Status: 404\r\n\r\n")).verdict.ok);
}

TEST_CASE("Session: body checks") {
  Expectation sha;
  sha.sha256_hex = "A948904F2F0F479B8F8197694B30184B0D2ED1C1CD2A1EC0FB85D299A192A447";  // upper case ok
  Session a(""sv, 1, false, &sha);
  a.Start();
  CHECK(a.OnRead(Response("Content-Type: text/plain\n\nhello world\n")).verdict.ok);
  a.Start();
  const Outcome bad = a.OnRead(Response("Content-Type: text/plain\n\nhello world!\n"));
  REQUIRE(bad.finished);
  CHECK(bad.verdict.kind == ErrorKind::kBody);
  CHECK(bad.verdict.message.find("13 bytes") != std::string::npos);

  Expectation contains;
  contains.body_contains = "<h1>Title</h1>";
  Session b(""sv, 1, false, &contains);
  b.Start();
  CHECK(b.OnRead(Response("\r\n<html><h1>Title</h1>")).verdict.ok);
  b.Start();
  const Outcome missing = b.OnRead(Response("\r\n<html><h1>Other</h1>"));
  CHECK(missing.verdict.kind == ErrorKind::kBody);
}

TEST_CASE("Session: protocol errors") {
  Expectation expect;
  SUBCASE("bad version") {
    Session s(""sv, 1, true, &expect);
    s.Start();
    const Outcome o = s.OnRead("\x02\x06\x00\x01\x00\x00\x00\x00"sv);
    REQUIRE(o.finished);
    CHECK(o.verdict.kind == ErrorKind::kProtocol);
    CHECK_FALSE(s.reusable());
  }
  SUBCASE("another request id") {
    Session s(""sv, 1, true, &expect);
    s.Start();
    std::string other;
    fastcgi::AppendStreamEnd(fastcgi::RecordType::kStdout, 2, &other);
    const Outcome o = s.OnRead(other);
    REQUIRE(o.finished);
    CHECK(o.verdict.kind == ErrorKind::kProtocol);
  }
  SUBCASE("protocolStatus OVERLOADED") {
    Session s(""sv, 1, true, &expect);
    s.Start();
    const Outcome o = s.OnRead(Response("\r\n", 2));
    REQUIRE(o.finished);
    CHECK(o.verdict.kind == ErrorKind::kProtocol);
    CHECK(o.verdict.message.find("protocolStatus 2") != std::string::npos);
    CHECK_FALSE(s.reusable());
  }
  SUBCASE("STDOUT that is not a CGI response") {
    Session s(""sv, 1, true, &expect);
    s.Start();
    const Outcome o = s.OnRead(Response("no header end"));
    REQUIRE(o.finished);
    CHECK(o.verdict.kind == ErrorKind::kProtocol);
  }
  SUBCASE("bytes after END_REQUEST in the same read") {
    Session s(""sv, 1, true, &expect);
    s.Start();
    std::string twice(kGolden);
    twice += kGolden;
    const Outcome o = s.OnRead(twice);
    REQUIRE(o.finished);
    CHECK(o.verdict.kind == ErrorKind::kProtocol);
  }
  SUBCASE("a new exchange forgets the previous error") {
    Session s(""sv, 1, true, &expect);
    s.Start();
    REQUIRE(s.OnRead("\x02\x06\x00\x01\x00\x00\x00\x00"sv).finished);
    s.Start();
    CHECK(s.OnRead(kGolden).verdict.ok);
  }
}

TEST_CASE("ErrorKindName covers every kind") {
  CHECK(ErrorKindName(ErrorKind::kConnect) == "connect");
  CHECK(ErrorKindName(ErrorKind::kWrite) == "write");
  CHECK(ErrorKindName(ErrorKind::kRead) == "read");
  CHECK(ErrorKindName(ErrorKind::kProtocol) == "protocol");
  CHECK(ErrorKindName(ErrorKind::kStatus) == "status");
  CHECK(ErrorKindName(ErrorKind::kBody) == "body");
  CHECK(ErrorKindName(ErrorKind::kTimeout) == "timeout");
  CHECK(ErrorKindIndex(ErrorKind::kTimeout) == kErrorKindCount - 1);
}

}  // namespace
}  // namespace tfpm::bench
