// worker::Connection against a client on the other end of a socketpair:
// the hostile-input rules of issue #13 (no PHP, no Dispatcher, milliseconds).
#include "worker/connection.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "fastcgi/params.h"
#include "fastcgi/record.h"
#include "fastcgi/writer.h"
#include "scoreboard/scoreboard.h"

namespace tfpm::worker {
namespace {

using fastcgi::RecordType;

struct Pair {
  Pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    server = fds[0];
    client = fds[1];
    REQUIRE(::fcntl(server, F_SETFL, O_NONBLOCK) == 0);
    board.resize(scoreboard::SegmentSize(1));
    scoreboard::Segment seg(board.data(), board.size());
    seg.Initialize(1, 1, 0);
    header = seg.header();
    config.board = header;
  }
  // Constructed on first use, so a test can set `config` first (a
  // Connection reads its limits when it is constructed).
  Connection* conn() {
    if (!conn_) conn_ = std::make_unique<Connection>(os::UniqueFd(server), &config);
    return conn_.get();
  }
  ~Pair() {
    ::close(client);
    if (!conn_) ::close(server);
  }

  void Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(client, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      REQUIRE(n > 0);
      off += static_cast<size_t>(n);
    }
  }
  // Everything the server has sent so far, as records.
  std::vector<fastcgi::Record> Received() {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(client, buf, sizeof(buf), MSG_DONTWAIT);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
    }
    std::vector<fastcgi::Record> out;
    size_t off = 0;
    for (;;) {
      fastcgi::Record r;
      size_t used = 0;
      Status err;
      if (fastcgi::ParseRecord(std::string_view(in).substr(off), &r, &used, &err) != fastcgi::ParseResult::kRecord) {
        break;
      }
      out.push_back(r);
      off += used;
    }
    return out;
  }
  uint64_t Count(scoreboard::Limit l) const { return header->Read(l); }

  int server = -1, client = -1;
  std::vector<char> board;
  scoreboard::Header* header = nullptr;
  ConnectionConfig config;
  std::unique_ptr<Connection> conn_;
  std::string in;
};

std::string Begin(uint16_t id, bool keep, fastcgi::Role role = fastcgi::Role::kResponder) {
  std::string out;
  fastcgi::AppendBeginRequest(id, role, keep ? fastcgi::kFlagKeepConn : 0, &out);
  return out;
}

std::string Params(uint16_t id, const std::vector<std::pair<std::string, std::string>>& p) {
  std::string out;
  fastcgi::AppendParams(id, p, &out);
  return out;
}

std::string Record(RecordType type, uint16_t id, std::string_view content = {}) {
  std::string out;
  if (content.empty()) {
    fastcgi::AppendStreamEnd(type, id, &out);
  } else {
    fastcgi::AppendStream(type, id, content, &out);
  }
  return out;
}

TEST_CASE("records a web server never sends close the connection and are counted") {
  struct Case {
    const char* name;
    std::string bytes;
  };
  const Case cases[] = {
      {"type 77 on request 1", Record(static_cast<RecordType>(77), 1, "x")},
      {"STDOUT from the client", Record(RecordType::kStdout, 1, "hello")},
      {"END_REQUEST from the client", Begin(1, true) + Record(RecordType::kEndRequest, 1, "12345678")},
      {"STDIN for no request", Record(RecordType::kStdin, 9, "body")},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Pair p;
    p.Send(c.bytes);
    CHECK(p.conn()->ReadRequest() == Connection::Progress::kClose);
    CHECK_FALSE(p.conn()->reusable());
    CHECK(p.Count(scoreboard::Limit::kProtocol) == 1);
  }
}

TEST_CASE("an unknown management record is answered, the connection stays") {
  Pair p;
  p.Send(Record(static_cast<RecordType>(99), 0, "whatever"));
  CHECK(p.conn()->ReadRequest() == Connection::Progress::kNeedMore);
  auto records = p.Received();
  REQUIRE(records.size() == 1);
  CHECK(records[0].header.type == RecordType::kUnknownType);
  CHECK(p.conn()->reusable());
}

TEST_CASE("answers nobody reads are bounded by max_output, outside and inside a request") {
  for (bool during_body : {false, true}) {
    CAPTURE(during_body);
    Pair p;
    p.config.max_output = 32 * 1024;
    if (during_body) {
      p.Send(Begin(1, true) + Params(1, {{"CONTENT_LENGTH", "100"}}) + Record(RecordType::kStdin, 1, "abc"));
      REQUIRE(p.conn()->ReadRequest() == Connection::Progress::kRequestReady);
      char buf[16];
      REQUIRE(p.conn()->ReadStdin(buf) == 3);
    }
    std::string flood;
    for (int i = 0; i < 8192; ++i) flood += Record(static_cast<RecordType>(99), 0);
    bool closed = false;
    for (int round = 0; round < 64 && !closed; ++round) {
      if (::send(p.client, flood.data(), flood.size(), MSG_NOSIGNAL | MSG_DONTWAIT) <= 0) break;
      if (during_body) {
        char buf[16];
        // Waits for body bytes that do not come: not for long.
        p.conn()->SetInputDeadline(base::MonotonicMicros() + 50 * 1000);
        closed = p.conn()->ReadStdin(buf) < 0;
      } else {
        closed = p.conn()->ReadRequest() == Connection::Progress::kClose;
      }
    }
    CHECK(closed);
    CHECK(p.Count(scoreboard::Limit::kOutput) == 1);
  }
}

TEST_CASE("FCGI_ABORT_REQUEST during the body is answered with END_REQUEST") {
  Pair p;
  p.Send(Begin(1, true) + Params(1, {{"A", "b"}}) + Record(RecordType::kStdin, 1, "part"));
  REQUIRE(p.conn()->ReadRequest() == Connection::Progress::kRequestReady);
  char buf[64];
  REQUIRE(p.conn()->ReadStdin(buf) == 4);
  p.Send(Record(RecordType::kAbortRequest, 1));
  CHECK(p.conn()->ReadStdin(buf) == -1);
  CHECK(p.conn()->aborted());
  CHECK_FALSE(p.conn()->WriteStdout("dropped"));
  p.conn()->Finish(0);
  auto records = p.Received();
  REQUIRE_FALSE(records.empty());
  CHECK(records.back().header.type == RecordType::kEndRequest);
  CHECK(records.back().header.request_id == 1);
  CHECK(p.conn()->reusable());  // the kept connection serves the next request
  // The rest of the aborted body is skipped up to its end, then the next
  // request is read.
  p.Send(Record(RecordType::kStdin, 1, "rest") + Record(RecordType::kStdin, 1) + Begin(1, true) +
         Params(1, {{"A", "c"}}));
  CHECK(p.conn()->ReadRequest() == Connection::Progress::kRequestReady);
  CHECK(p.Count(scoreboard::Limit::kProtocol) == 0);
}

TEST_CASE("max_params and max_params_size close the connection, counted as params_refused") {
  {
    Pair p;
    p.config.max_params = 20;
    std::vector<std::pair<std::string, std::string>> many;
    for (int i = 0; i < 20; ++i) many.emplace_back("P" + std::to_string(i), "");  // + FCGI_ROLE: fine
    p.Send(Begin(1, true) + Params(1, many));
    CHECK(p.conn()->ReadRequest() == Connection::Progress::kRequestReady);
  }
  {
    Pair p;
    p.config.max_params = 20;
    std::vector<std::pair<std::string, std::string>> many;
    for (int i = 0; i < 21; ++i) many.emplace_back("P" + std::to_string(i), "");
    p.Send(Begin(1, true) + Params(1, many));
    CHECK(p.conn()->ReadRequest() == Connection::Progress::kClose);
    CHECK(p.Count(scoreboard::Limit::kParams) == 1);
  }
  {
    Pair p;
    p.config.max_params_bytes = 4096;
    p.Send(Begin(1, true) + Params(1, {{"BIG", std::string(5000, 'v')}}));
    CHECK(p.conn()->ReadRequest() == Connection::Progress::kClose);
    CHECK(p.Count(scoreboard::Limit::kParams) == 1);
  }
}

TEST_CASE("GET_VALUES asking one name many times gets it once") {
  Pair p;
  std::string ask;
  for (int i = 0; i < 1000; ++i) fastcgi::AppendParam(fastcgi::kMaxConns, "", &ask);
  p.Send(Record(RecordType::kGetValues, 0, ask));
  CHECK(p.conn()->ReadRequest() == Connection::Progress::kNeedMore);
  auto records = p.Received();
  REQUIRE(records.size() == 1);
  CHECK(records[0].header.type == RecordType::kGetValuesResult);
  CHECK(records[0].content.size() < 32);
}

TEST_CASE("a client streaming records without a request gets back in line") {
  Pair p;
  int big = 4 << 20;
  ::setsockopt(p.client, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));  // root; else SO_SNDBUF's cap
  ::setsockopt(p.client, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  std::string flood;
  for (int i = 0; i < 80000; ++i) flood += Record(static_cast<RecordType>(99), 0);  // 640 KB
  const ssize_t sent = ::send(p.client, flood.data(), flood.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent < 300 * 1024) {
    MESSAGE("socket buffer too small for this test: " << sent);
    return;
  }
  // The first call stops after its share though more bytes are waiting.
  CHECK(p.conn()->ReadRequest() == Connection::Progress::kNeedMore);
  char c;
  CHECK(::recv(p.server, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1);
}

TEST_CASE("a parked connection gives back what a large request made its buffers grow to") {
  Pair p;
  p.config.max_params = 100000;
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 50000; ++i) many.emplace_back("P" + std::to_string(i), "");
  // More than a socket buffer: sent from another thread while we read.
  std::thread sender([&] { p.Send(Begin(1, true) + Params(1, many) + Record(RecordType::kStdin, 1)); });
  Connection::Progress got = Connection::Progress::kNeedMore;
  for (int i = 0; i < 2000 && got == Connection::Progress::kNeedMore; ++i) {
    pollfd pfd{p.server, POLLIN, 0};
    ::poll(&pfd, 1, 10);
    got = p.conn()->ReadRequest();
  }
  sender.join();
  REQUIRE(got == Connection::Progress::kRequestReady);
  CHECK(p.conn()->params().size() == 50001);
  CHECK(p.conn()->buffered_bytes() > 1000 * 1000);
  p.conn()->Finish(0);
  CHECK_FALSE(p.conn()->DropFinishedInput());
  p.conn()->ReleaseBuffers();
  CHECK(p.conn()->buffered_bytes() <= 64 * 1024);
  // Still serves the next request.
  p.Send(Begin(1, true) + Params(1, {{"A", "b"}}));
  CHECK(p.conn()->ReadRequest() == Connection::Progress::kRequestReady);
  CHECK(p.conn()->params().size() == 2);
}

}  // namespace
}  // namespace tfpm::worker

namespace tfpm::worker {
namespace {

TEST_CASE("a malformed GET_VALUES during the body aborts the request, counted as a protocol error") {
  Pair p;
  p.Send(Begin(1, true) + Params(1, {{"CONTENT_LENGTH", "10"}}) + Record(RecordType::kStdin, 1, "abc"));
  REQUIRE(p.conn()->ReadRequest() == Connection::Progress::kRequestReady);
  char buf[16];
  REQUIRE(p.conn()->ReadStdin(buf) == 3);
  std::string bad = {5, 0, 'A', 'B'};
  p.Send(Record(RecordType::kGetValues, 0, bad));
  // (Before, it was ignored and ReadStdin waited for the body: bounded.)
  p.conn()->SetInputDeadline(base::MonotonicMicros() + 200 * 1000);
  CHECK(p.conn()->ReadStdin(buf) == -1);
  CHECK_FALSE(p.conn()->reusable());
  CHECK(p.Count(scoreboard::Limit::kProtocol) == 1);
}

}  // namespace
}  // namespace tfpm::worker
