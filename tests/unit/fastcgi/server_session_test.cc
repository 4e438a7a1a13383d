// fastcgi::ServerSession: golden bytes for every record type it answers,
// and the same byte streams fed whole, split at every point, byte by byte
// and in random pieces, which must yield identical events and output.
#include "fastcgi/server_session.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "fastcgi/params.h"
#include "fastcgi/record.h"
#include "fastcgi/writer.h"

namespace tfpm::fastcgi {
namespace {

using EventType = ServerSession::EventType;
using CloseReason = ServerSession::CloseReason;

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

std::string Begin(uint16_t id, bool keep, uint16_t role = 1) {
  std::string out;
  AppendBeginRequest(id, static_cast<Role>(role), keep ? kFlagKeepConn : 0, &out);
  return out;
}

std::string Params(uint16_t id, const std::vector<std::pair<std::string, std::string>>& p) {
  std::string out;
  AppendParams(id, p, &out);
  return out;
}

std::string Rec(RecordType type, uint16_t id, std::string_view content = {}) {
  std::string out;
  if (content.empty()) {
    AppendStreamEnd(type, id, &out);
  } else {
    AppendStream(type, id, content, &out);
  }
  return out;
}

std::string Stdin(uint16_t id, std::string_view body) {
  std::string out;
  AppendStdin(id, body, &out);
  return out;
}

std::string GetValues(std::initializer_list<std::string_view> names) {
  std::string content;
  for (auto n : names) AppendParam(n, "", &content);
  return Rec(RecordType::kGetValues, 0, content);
}

SessionLimits Limits() {
  SessionLimits l;
  l.max_conns = 8;
  l.max_reqs = 8;
  return l;
}

// What the application does with a request, in the transcript driver.
enum class App {
  kReadsBody,    // reads the body to its end (or abort), then answers
  kIgnoresBody,  // answers at once, never reads the body
};

// A readable account of everything the session did: its events, and the
// output it produced (taken whenever there is some).
struct Transcript {
  std::vector<std::string> events;
  std::string output;
  bool operator==(const Transcript&) const = default;
};

std::string Describe(ServerSession& s, const ServerSession::Event& e) {
  switch (e.type) {
    case EventType::kNeedMore: return "need-more";
    case EventType::kRequest: {
      std::string d = "request id=" + std::to_string(s.request_id()) + " role=" + std::to_string(s.role()) +
                      " keep=" + std::to_string(s.keep_conn());
      for (const auto& [n, v] : s.params()) d += " " + std::string(n) + "=" + std::string(v);
      return d;
    }
    case EventType::kStdin: return "stdin " + std::string(e.data);
    case EventType::kStdinEnd: return "stdin-end";
    case EventType::kAbort: return "abort";
    case EventType::kRefused: return "refused: " + std::string(e.data);
    case EventType::kClose:
      return "close " + std::to_string(static_cast<int>(e.reason)) + ": " + std::string(e.data);
  }
  return "?";
}

// Drains the session's events, acting as `app` would; false once closed.
bool Drain(ServerSession& s, App app, Transcript* t) {
  for (;;) {
    const ServerSession::Event e = s.Next();
    if (e.type == EventType::kNeedMore) break;
    t->events.push_back(Describe(s, e));
    if (e.type == EventType::kClose) break;
    const bool answer = (e.type == EventType::kRequest && app == App::kIgnoresBody) ||
                        e.type == EventType::kStdinEnd || e.type == EventType::kAbort;
    if (answer) {
      s.AppendStdout("answer to " + std::to_string(s.request_id()));
      s.FinishRequest(0);
      s.SkipFinishedRequest();
    }
  }
  t->output += s.PendingOutput();
  s.ConsumeOutput(s.output_size());
  return !s.closed();
}

// Feeds `stream` in pieces of the given sizes (the rest in one piece).
Transcript Run(std::string_view stream, const std::vector<size_t>& pieces, App app,
               const SessionLimits& limits = Limits()) {
  ServerSession s(limits);
  Transcript t;
  size_t at = 0;
  size_t next_piece = 0;
  while (at < stream.size()) {
    size_t n = next_piece < pieces.size() ? pieces[next_piece++] : stream.size() - at;
    n = std::min(n, stream.size() - at);
    std::string_view piece = stream.substr(at, n);
    at += n;
    while (!piece.empty()) {
      const size_t took = s.Feed(piece);
      piece.remove_prefix(took);
      if (!Drain(s, app, &t)) return t;
      REQUIRE((took > 0 || piece.empty() || s.InputSpace().size() > 0));
    }
  }
  Drain(s, app, &t);
  return t;
}

// Every way of cutting `stream` gives the same transcript as feeding it whole.
void CheckSplitInvariant(const std::string& stream, App app, const SessionLimits& limits = Limits()) {
  const Transcript whole = Run(stream, {}, app, limits);
  REQUIRE_FALSE(whole.events.empty());
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    CAPTURE(cut);
    const Transcript t = Run(stream, {cut}, app, limits);
    if (!(t == whole)) {
      for (const auto& e : whole.events) MESSAGE("whole: " << e);
      for (const auto& e : t.events) MESSAGE("cut: " << e);
    }
    REQUIRE(t == whole);
  }
  REQUIRE(Run(stream, std::vector<size_t>(stream.size(), 1), app, limits) == whole);
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    std::vector<size_t> pieces;
    for (size_t left = stream.size(); left > 0;) {
      const size_t n = std::min<size_t>(left, 1 + rng() % 40);
      pieces.push_back(n);
      left -= n;
    }
    CAPTURE(round);
    REQUIRE(Run(stream, pieces, app, limits) == whole);
  }
}

// ---- golden cases ----------------------------------------------------

TEST_CASE("GET_VALUES is answered with MAX_CONNS, MAX_REQS and MPXS_CONNS, golden bytes") {
  const Transcript t = Run(GetValues({kMaxConns, kMaxReqs, kMpxsConns}), {}, App::kReadsBody);
  CHECK(t.events.empty());
  std::string want = Bytes({1, 10, 0, 0, 0, 51, 5, 0});  // 51 content bytes, 5 padding
  want += Bytes({14, 1}) + "FCGI_MAX_CONNS" + "8";
  want += Bytes({13, 1}) + "FCGI_MAX_REQS" + "8";
  want += Bytes({15, 1}) + "FCGI_MPXS_CONNS" + "0";
  want += std::string(5, '\0');
  CHECK(t.output == want);
}

TEST_CASE("GET_VALUES: unknown names are left out, a name asked twice is answered once") {
  const Transcript t = Run(GetValues({"FCGI_FOO", kMaxReqs, kMaxReqs}), {}, App::kReadsBody);
  std::string want = Bytes({1, 10, 0, 0, 0, 16, 0, 0});
  want += Bytes({13, 1}) + "FCGI_MAX_REQS" + "8";
  CHECK(t.output == want);
}

TEST_CASE("a management record of another type gets UNKNOWN_TYPE, golden bytes") {
  for (int type : {0, 1, 3, 6, 10, 11, 77, 255}) {
    CAPTURE(type);
    const Transcript t = Run(Rec(static_cast<RecordType>(type), 0, "whatever"), {}, App::kReadsBody);
    CHECK(t.events.empty());
    CHECK(t.output == Bytes({1, 11, 0, 0, 0, 8, 0, 0, type, 0, 0, 0, 0, 0, 0, 0}));
  }
}

TEST_CASE("a request: params with FCGI_ROLE first, the body, then STDOUT, its end and END_REQUEST, golden bytes") {
  ServerSession s(Limits());
  s.Feed(Begin(1, false) + Params(1, {{"A", "b"}, {"EMPTY", ""}}) + Stdin(1, "body"));
  REQUIRE(s.Next().type == EventType::kRequest);
  CHECK(s.active());
  CHECK_FALSE(s.keep_conn());
  CHECK(s.role() == 1);
  REQUIRE(s.params().size() == 3);
  CHECK(s.params()[0] == ServerSession::Param("FCGI_ROLE", "RESPONDER"));
  CHECK(s.params()[1] == ServerSession::Param("A", "b"));
  CHECK(s.params()[2] == ServerSession::Param("EMPTY", ""));
  for (const auto& [n, v] : s.params()) {
    CHECK(n.data()[n.size()] == '\0');
    CHECK(v.data()[v.size()] == '\0');
  }
  auto e = s.Next();
  REQUIRE(e.type == EventType::kStdin);
  CHECK(e.data == "body");
  CHECK(s.Next().type == EventType::kStdinEnd);
  CHECK(s.Next().type == EventType::kNeedMore);  // nothing is parsed until it is finished
  s.AppendStdout("x");
  s.FinishRequest(7);
  CHECK_FALSE(s.active());
  std::string want = Bytes({1, 6, 0, 1, 0, 1, 7, 0}) + "x" + std::string(7, '\0');  // STDOUT
  want += Bytes({1, 6, 0, 1, 0, 0, 0, 0});                                           // its end
  want += Bytes({1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0});  // END_REQUEST(7)
  CHECK(s.PendingOutput() == want);
}

TEST_CASE("the roles: AUTHORIZER and FILTER are served, an unknown role is refused with UNKNOWN_ROLE") {
  {
    ServerSession s(Limits());
    s.Feed(Begin(1, true, 2) + Params(1, {}));
    REQUIRE(s.Next().type == EventType::kRequest);
    CHECK(s.params()[0] == ServerSession::Param("FCGI_ROLE", "AUTHORIZER"));
  }
  {
    ServerSession s(Limits());
    s.Feed(Begin(1, true, 3) + Params(1, {}));
    REQUIRE(s.Next().type == EventType::kRequest);
    CHECK(s.params()[0] == ServerSession::Param("FCGI_ROLE", "FILTER"));
  }
  for (bool keep : {true, false}) {
    CAPTURE(keep);
    ServerSession s(Limits());
    // The refused request's PARAMS and body are skipped; then the next one.
    s.Feed(Begin(1, keep, 9) + Params(1, {{"A", "b"}}) + Stdin(1, "body") + Begin(2, true) + Params(2, {}));
    auto e = s.Next();
    REQUIRE(e.type == EventType::kRefused);
    CHECK(e.data.find("unknown role 9") != std::string_view::npos);
    CHECK(s.PendingOutput() == Bytes({1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0}));
    e = s.Next();
    if (keep) {
      CHECK(e.type == EventType::kRequest);
      CHECK(s.request_id() == 2);
    } else {
      CHECK(e.type == EventType::kClose);
      CHECK(e.reason == CloseReason::kAnswered);
    }
  }
}

TEST_CASE("a second request while one is read or runs gets CANT_MPX_CONN, its records are skipped") {
  const std::string cant_mpx_2 = Bytes({1, 3, 0, 2, 0, 8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0});
  {
    ServerSession s(Limits());  // while PARAMS are read
    s.Feed(Begin(1, true) + Begin(2, true) + Params(2, {{"X", "y"}}) + Params(1, {{"A", "b"}}));
    REQUIRE(s.Next().type == EventType::kRequest);
    CHECK(s.request_id() == 1);
    CHECK(s.params().size() == 2);
    CHECK(s.PendingOutput() == cant_mpx_2);
  }
  {
    ServerSession s(Limits());  // while the body is read
    s.Feed(Begin(1, true) + Params(1, {}) + Begin(2, true) + Params(2, {}) + Stdin(2, "z") + Stdin(1, "b"));
    REQUIRE(s.Next().type == EventType::kRequest);
    auto e = s.Next();
    REQUIRE(e.type == EventType::kStdin);
    CHECK(e.data == "b");
    CHECK(s.PendingOutput() == cant_mpx_2);
  }
}

TEST_CASE("FCGI_ABORT_REQUEST: END_REQUEST at once while PARAMS are read; kAbort while the request runs") {
  const std::string end_1 = Bytes({1, 3, 0, 1, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  for (bool keep : {true, false}) {
    CAPTURE(keep);
    ServerSession s(Limits());
    s.Feed(Begin(1, keep) + Rec(RecordType::kParams, 1, Bytes({1, 1}) + "Ab") + Rec(RecordType::kAbortRequest, 1));
    auto e = s.Next();
    if (keep) {
      CHECK(e.type == EventType::kNeedMore);
      CHECK_FALSE(s.mid_request());
    } else {
      CHECK(e.type == EventType::kClose);
      CHECK(e.reason == CloseReason::kAnswered);
    }
    CHECK(s.PendingOutput() == end_1);
  }
  {
    ServerSession s(Limits());
    s.Feed(Begin(1, true) + Params(1, {}) + Rec(RecordType::kStdin, 1, "part") + Rec(RecordType::kAbortRequest, 1) +
           Rec(RecordType::kStdin, 1, "rest") + Rec(RecordType::kStdin, 1) + Begin(3, true) + Params(3, {}));
    REQUIRE(s.Next().type == EventType::kRequest);
    REQUIRE(s.Next().type == EventType::kStdin);
    CHECK(s.Next().type == EventType::kAbort);
    CHECK(s.abort_received());
    CHECK(s.Next().type == EventType::kNeedMore);
    s.AppendStdout("dropped?");  // the transport drops output after an abort; the session keeps what it is given
    s.DiscardOutput();
    s.FinishRequest(0);
    CHECK(s.PendingOutput() == end_1);  // no stream end after an abort
    // The rest of the aborted body is skipped, then the next request.
    auto e = s.Next();
    REQUIRE(e.type == EventType::kRequest);
    CHECK(s.request_id() == 3);
  }
}

TEST_CASE("records a web server never sends close the session as protocol errors") {
  struct Case {
    const char* name;
    std::string bytes;
  };
  const Case cases[] = {
      {"type 77 on request 1", Rec(static_cast<RecordType>(77), 1, "x")},
      {"STDOUT from the client", Rec(RecordType::kStdout, 1, "hello")},
      {"END_REQUEST from the client", Begin(1, true) + Rec(RecordType::kEndRequest, 1, "12345678")},
      {"STDIN for no request", Rec(RecordType::kStdin, 9, "body")},
      {"version 2", Bytes({2, 1, 0, 1, 0, 8, 0, 0}) + std::string(8, '\0')},
      {"BEGIN_REQUEST of 7 bytes", Rec(RecordType::kBeginRequest, 1, "1234567")},
      {"GET_VALUES with a truncated pair", Rec(RecordType::kGetValues, 0, Bytes({5, 0}) + "AB")},
      {"PARAMS with a truncated pair", Begin(1, true) + Rec(RecordType::kParams, 1, Bytes({5, 0}) + "AB") +
                                           Rec(RecordType::kParams, 1)},
      {"STDOUT while the request runs", Begin(1, true) + Params(1, {}) + Rec(RecordType::kStdout, 1, "x")},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    ServerSession s(Limits());
    s.Feed(c.bytes);
    ServerSession::Event e;
    while ((e = s.Next()).type == EventType::kRequest) {
    }
    REQUIRE(e.type == EventType::kClose);
    CHECK(e.reason == CloseReason::kProtocol);
    CHECK(e.data.starts_with("FastCGI connection closed: "));
    CHECK(s.closed());
    // Closed for good: the same answer again.
    CHECK(s.Next().type == EventType::kClose);
  }
}

TEST_CASE("max_params and max_params_bytes close the session as a params limit") {
  std::vector<std::pair<std::string, std::string>> twenty, twenty_one;
  for (int i = 0; i < 21; ++i) {
    (i < 20 ? twenty : twenty_one).emplace_back("P" + std::to_string(i), "");
    if (i < 20) twenty_one.emplace_back("P" + std::to_string(i), "");
  }
  SessionLimits limits = Limits();
  limits.max_params = 20;
  {
    ServerSession s(limits);
    s.Feed(Begin(1, true) + Params(1, twenty));
    CHECK(s.Next().type == EventType::kRequest);
    CHECK(s.params().size() == 21);  // + FCGI_ROLE
  }
  {
    ServerSession s(limits);
    s.Feed(Begin(1, true) + Params(1, twenty_one));
    auto e = s.Next();
    REQUIRE(e.type == EventType::kClose);
    CHECK(e.reason == CloseReason::kParamsLimit);
    CHECK(e.data.find("max_params") != std::string_view::npos);
  }
  limits = Limits();
  limits.max_params_bytes = 4096;
  {
    ServerSession s(limits);
    s.Feed(Begin(1, true) + Params(1, {{"BIG", std::string(5000, 'v')}}));
    auto e = s.Next();
    REQUIRE(e.type == EventType::kClose);
    CHECK(e.reason == CloseReason::kParamsLimit);
    CHECK(e.data.find("max_params_size") != std::string_view::npos);
  }
}

TEST_CASE("STDOUT and STDERR are coalesced into open records of at most 65535 bytes") {
  ServerSession s(Limits());
  s.Feed(Begin(1, true) + Params(1, {}));
  REQUIRE(s.Next().type == EventType::kRequest);
  for (int i = 0; i < 100; ++i) s.AppendStdout("ab");
  s.AppendStderr("e1");
  s.AppendStderr("e2");
  s.AppendStdout(std::string(70000, 'z'));
  s.FinishRequest(0);
  const std::string out(s.PendingOutput());
  std::vector<Record> records;
  for (size_t off = 0; off < out.size();) {
    Record r;
    size_t used = 0;
    Status err;
    REQUIRE(ParseRecord(std::string_view(out).substr(off), &r, &used, &err) == ParseResult::kRecord);
    CHECK(r.header.request_id == 1);
    CHECK(r.header.padding_length == PaddingLength(r.header.content_length));
    records.push_back(r);
    off += used;
  }
  REQUIRE(records.size() == 6);
  CHECK(records[0].header.type == RecordType::kStdout);
  std::string ab;
  for (int i = 0; i < 100; ++i) ab += "ab";
  CHECK(records[0].content == ab);
  CHECK(records[1].header.type == RecordType::kStderr);
  CHECK(records[1].content == "e1e2");
  CHECK(records[2].content.size() == kMaxContentLength);
  CHECK(records[3].content.size() == 70000 - kMaxContentLength);
  CHECK(records[4].header.type == RecordType::kStdout);
  CHECK(records[4].content.empty());
  CHECK(records[5].header.type == RecordType::kEndRequest);
}

TEST_CASE("after a request, the body it did not read is skipped; a pipelined request is served next") {
  ServerSession s(Limits());
  s.Feed(Begin(1, true) + Params(1, {}) + Stdin(1, "unread body") + Rec(RecordType::kAbortRequest, 1));
  REQUIRE(s.Next().type == EventType::kRequest);
  s.FinishRequest(0);
  s.SkipFinishedRequest();
  CHECK_FALSE(s.HasBufferedInput());  // nothing else was sent
  s.Feed(Begin(2, true) + Params(2, {{"N", "2"}}));
  s.SkipFinishedRequest();
  CHECK(s.HasBufferedInput());  // the next request
  REQUIRE(s.Next().type == EventType::kRequest);
  CHECK(s.request_id() == 2);
}

TEST_CASE("a parked session gives back what a large request made its buffers grow to") {
  SessionLimits limits = Limits();
  limits.max_params = 100000;
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 50000; ++i) many.emplace_back("P" + std::to_string(i), "");
  const std::string stream = Begin(1, true) + Params(1, many) + Stdin(1, "");
  ServerSession s(limits);
  std::string_view rest = stream;
  ServerSession::Event e;
  while ((e = s.Next()).type == EventType::kNeedMore) {
    REQUIRE_FALSE(rest.empty());
    rest.remove_prefix(s.Feed(rest));
  }
  REQUIRE(e.type == EventType::kRequest);
  CHECK(s.buffered_bytes() > 1000 * 1000);
  s.FinishRequest(0);
  s.ConsumeOutput(s.output_size());
  s.Feed(rest);
  s.SkipFinishedRequest();
  CHECK_FALSE(s.HasBufferedInput());
  s.ReleaseBuffers();
  CHECK(s.buffered_bytes() <= 64 * 1024);
}

TEST_CASE("a parked session keeps at most 16 KiB of each buffer, counted in bytes, params' views too") {
  // 1,500 params: 48 KB of views (32 bytes each) but only 1,501 elements,
  // which an element count would have compared with the 16 KiB as if bytes.
  SessionLimits limits = Limits();
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 1500; ++i) many.emplace_back("P" + std::to_string(i), "v");
  ServerSession s(limits);
  s.Feed(Begin(1, true) + Params(1, many) + Stdin(1, ""));
  REQUIRE(s.Next().type == EventType::kRequest);
  REQUIRE(s.params().size() == 1501);
  s.FinishRequest(0);
  s.ConsumeOutput(s.output_size());
  s.SkipFinishedRequest();
  s.ReleaseBuffers();
  // Input buffer (16 KiB) + raw params and their NUL-separated copy (about
  // 10 KB each, kept): the views are given back.
  CHECK(s.buffered_bytes() <= ServerSession::kInitialInput + 2 * 16 * 1024);
  CHECK(s.buffered_bytes() < ServerSession::kInitialInput + 1500 * sizeof(Param));
  // The next request on the kept connection is read as before.
  s.Feed(Begin(2, true) + Params(2, {{"N", "2"}}) + Stdin(2, ""));
  REQUIRE(s.Next().type == EventType::kRequest);
  CHECK(s.params().size() == 2);
  CHECK(s.params()[1].second == "2");
}

// ---- split feeds -------------------------------------------------------

// A conversation that visits every state: management records between and
// during requests, a pair straddling two PARAMS records, CANT_MPX_CONN, a
// refused role, an abort during the body, a late abort, pipelining.
std::string Conversation() {
  std::string s = GetValues({kMaxConns, kMpxsConns});
  s += Begin(1, true);
  std::string params;
  AppendParam("SCRIPT_FILENAME", "/srv/www/index.php", &params);
  AppendParam("LONG", std::string(300, 'l'), &params);  // 4-byte length
  AppendParam("QUERY_STRING", "a=1", &params);
  s += Rec(RecordType::kParams, 1, params.substr(0, 20)) + Rec(RecordType::kParams, 1, params.substr(20)) +
       Rec(RecordType::kParams, 1);
  s += Rec(RecordType::kStdin, 1, "first part ");
  s += Rec(static_cast<RecordType>(99), 0, "mgmt");
  s += Begin(2, true) + Params(2, {{"X", "y"}}) + Rec(RecordType::kStdin, 2, "other");
  s += Rec(RecordType::kData, 1, "data is skipped");
  s += Rec(RecordType::kStdin, 1, "second part") + Rec(RecordType::kStdin, 1);
  s += Rec(RecordType::kAbortRequest, 1);  // late: skipped
  s += Begin(4, true, 7) + Params(4, {{"R", "s"}}) + Stdin(4, "refused body");
  s += Begin(5, true) + Params(5, {{"N", "5"}}) + Rec(RecordType::kStdin, 5, "abc") +
       Rec(RecordType::kAbortRequest, 5) + Stdin(5, "rest of 5");
  s += GetValues({kMaxReqs});
  s += Begin(6, false) + Params(6, {{"LAST", "1"}}) + Stdin(6, std::string(1000, 'b'));
  return s;
}

TEST_CASE("split feeds: the conversation yields the same events and output however it is cut") {
  for (App app : {App::kReadsBody, App::kIgnoresBody}) {
    CAPTURE(static_cast<int>(app));
    const Transcript whole = Run(Conversation(), {}, app);
    // Sanity: the transcript is the conversation we meant.
    const auto& ev = whole.events;
    REQUIRE_FALSE(ev.empty());
    CHECK(ev[0].starts_with("request id=1 role=1 keep=1 FCGI_ROLE=RESPONDER SCRIPT_FILENAME=/srv/www/index.php"));
    if (app == App::kReadsBody) {
      REQUIRE(ev.size() == 11);
      CHECK(ev[1] == "stdin first part ");
      CHECK(ev[2] == "stdin second part");
      CHECK(ev[3] == "stdin-end");
      CHECK(ev[4].starts_with("refused: "));
      CHECK(ev[5].starts_with("request id=5"));
      CHECK(ev[6] == "stdin abc");
      CHECK(ev[7] == "abort");
      CHECK(ev[8].starts_with("request id=6 role=1 keep=0"));
      CHECK(ev[9] == "stdin " + std::string(1000, 'b'));
      CHECK(ev[10] == "stdin-end");
    }
    CheckSplitInvariant(Conversation(), app);
  }
}

TEST_CASE("split feeds: each protocol error and limit is found the same way however the bytes come") {
  SessionLimits limits = Limits();
  limits.max_params = 3;
  limits.max_params_bytes = 200;
  const std::string streams[] = {
      Begin(1, true) + Params(1, {}) + Stdin(1, "x") + Rec(static_cast<RecordType>(77), 1, "x"),
      GetValues({kMaxConns}) + Bytes({2, 1, 0, 1, 0, 0, 0, 0}),
      Begin(1, true) + Params(1, {{"A", "1"}, {"B", "2"}, {"C", "3"}, {"D", "4"}}),
      Begin(1, true) + Params(1, {{"A", std::string(300, 'a')}}),
      Begin(1, false, 0) + Params(1, {}),
  };
  for (const std::string& stream : streams) {
    for (App app : {App::kReadsBody, App::kIgnoresBody}) {
      const Transcript whole = Run(stream, {}, app, limits);
      REQUIRE_FALSE(whole.events.empty());
      CHECK(whole.events.back().starts_with("close "));
      CheckSplitInvariant(stream, app, limits);
    }
  }
}

}  // namespace
}  // namespace tfpm::fastcgi

namespace tfpm::fastcgi {
namespace {

// Found by the fastcgi_session fuzzer (its seed `filter_data`): a FILTER
// request's DATA after its body was dropped when it was already buffered
// at the request's end, and closed the connection as a protocol error when
// it came later. Now: the finished request's DATA (and a late ABORT) is
// skipped either way; its STDIN after the empty STDIN record is a protocol
// error either way (php-fpm closes too).
TEST_CASE("split feeds: records of a finished request are treated the same whether buffered or late") {
  const std::string data_after_body = Begin(1, true, 3) + Params(1, {}) + Stdin(1, "in") +
                                      Rec(RecordType::kData, 1, "data") + Rec(RecordType::kData, 1) +
                                      Rec(RecordType::kAbortRequest, 1) + Begin(2, true) + Params(2, {}) + Stdin(2, "");
  for (App app : {App::kReadsBody, App::kIgnoresBody}) {
    const Transcript whole = Run(data_after_body, {}, app);
    CHECK(std::count_if(whole.events.begin(), whole.events.end(),
                        [](const std::string& e) { return e.starts_with("request id=2"); }) == 1);
    CHECK_FALSE(whole.events.back().starts_with("close"));
    CheckSplitInvariant(data_after_body, app);
  }
  const std::string stdin_after_end = Begin(1, true) + Params(1, {}) + Stdin(1, "body") + Stdin(1, "again");
  const Transcript whole = Run(stdin_after_end, {}, App::kReadsBody);
  CHECK(whole.events.back().starts_with("close 1: FastCGI connection closed: unexpected record type 5"));
  CheckSplitInvariant(stdin_after_end, App::kReadsBody);
}

}  // namespace
}  // namespace tfpm::fastcgi

namespace tfpm::fastcgi {
namespace {

// Before: a malformed GET_VALUES closed the connection between requests
// but was silently left unanswered while a request's body was read.
TEST_CASE("a malformed GET_VALUES closes the session between requests and while one runs") {
  const std::string bad = Rec(RecordType::kGetValues, 0, Bytes({5, 0}) + "AB");
  const std::string streams[] = {
      bad,
      Begin(1, true) + Rec(RecordType::kParams, 1, Bytes({1, 1}) + "Ab") + bad,
      Begin(1, true) + Params(1, {}) + Rec(RecordType::kStdin, 1, "part") + bad,
  };
  for (const std::string& stream : streams) {
    const Transcript t = Run(stream, {}, App::kReadsBody);
    REQUIRE_FALSE(t.events.empty());
    CHECK(t.events.back() == "close 1: FastCGI connection closed: malformed GET_VALUES");
  }
}

}  // namespace
}  // namespace tfpm::fastcgi
