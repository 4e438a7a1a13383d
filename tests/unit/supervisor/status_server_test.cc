// StatusServer over real unix sockets (no daemon): requests get the
// handler's answer for their pool, keep-alive works, and no client can hold
// the server: too many connections, a slow request, an oversized one,
// garbage.
#include "supervisor/status_server.h"

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "fastcgi/client_response.h"
#include "fastcgi/writer.h"
#include "os/socket.h"

namespace tfpm::supervisor {
namespace {

using std::chrono::milliseconds;
constexpr uint64_t kListenToken = 1ull << 56, kClientToken = 2ull << 56;

struct Fixture {
  std::string dir, path;
  std::optional<os::Poller> poller;
  std::optional<StatusServer> server;
  std::vector<std::string> seen_pools;
  os::TimePoint now{};

  explicit Fixture(StatusListenLimits limits = {}) {
    char d[] = "/tmp/tfpm-statussrv-XXXXXX";
    REQUIRE(::mkdtemp(d) != nullptr);
    dir = d;
    path = dir + "/status.sock";
    auto p = os::Poller::Create();
    REQUIRE(p.ok());
    poller.emplace(std::move(p.value()));
    server.emplace(&*poller, kListenToken, kClientToken,
                   [this](const std::string& pool, std::span<const FcgiParam> params) {
                     seen_pools.push_back(pool);
                     StatusAnswer a = PlainAnswer(200, pool + " " + std::string(RequestPath(params)) + "\n");
                     return CgiBytes(a, false);
                   });
    auto l = std::make_shared<Listener>();
    l->address = os::ListenAddress{os::ListenAddress::Kind::kUnix, path, "", 0};
    auto fd = os::Listen(l->address, os::ListenOptions{});
    REQUIRE(fd.ok());
    l->fd = std::move(fd.value());
    server->Serve("www", l, limits, nullptr);
  }
  ~Fixture() {
    server.reset();
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
  os::UniqueFd Connect() {
    auto fd = os::ConnectUnix(path);
    REQUIRE(fd.ok());
    return std::move(fd.value());
  }
  // Delivers the poller's events until nothing is pending.
  void Pump() {
    epoll_event events[16];
    for (int round = 0; round < 200; ++round) {
      const int n = poller->Wait(events, milliseconds(20));
      if (n <= 0) return;
      for (int i = 0; i < n; ++i) {
        const uint64_t t = events[i].data.u64;
        const int fd = static_cast<int>(t & 0xffffffff);
        if ((t >> 56) == 1) server->OnListenEvent(fd, now);
        else server->OnClientEvent(fd, events[i].events, now);
      }
    }
  }
};

std::string Request(uint16_t id, const std::string& script, bool keep = false) {
  std::string out;
  fastcgi::AppendBeginRequest(id, fastcgi::Role::kResponder, keep ? 1 : 0, &out);
  fastcgi::AppendParams(id, {{"REQUEST_METHOD", "GET"}, {"SCRIPT_NAME", script}}, &out);
  fastcgi::AppendStdin(id, "", &out);
  return out;
}

void Send(int fd, const std::string& bytes) {
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

// Reads what arrives within `ms`, until EOF.
std::string ReadFor(int fd, int ms = 300) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool ClosedByPeer(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 500) <= 0) return false;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN;
  }
}

std::string Answer(const std::string& bytes, uint16_t id) {
  fastcgi::ResponseReader reader(id);
  REQUIRE(reader.Feed(bytes).ok());
  REQUIRE(reader.done());
  return std::string(reader.stdout_data());
}

TEST_CASE("status server: a request gets the handler's answer for the listener's pool") {
  Fixture f;
  os::UniqueFd c = f.Connect();
  Send(c.get(), Request(7, "/ready"));
  f.Pump();
  const std::string out = Answer(ReadFor(c.get()), 7);
  fastcgi::CgiResponse cgi;
  REQUIRE(fastcgi::ParseCgiResponse(out, &cgi).ok());
  CHECK(cgi.status == 200);
  CHECK(cgi.body == "www /ready\n");
  CHECK(f.seen_pools == std::vector<std::string>{"www"});
  CHECK(f.server->counters("www").answered == 1);
  c.Reset();
  f.Pump();
  CHECK(f.server->clients() == 0);
}

TEST_CASE("status server: FCGI_KEEP_CONN serves several requests on one connection") {
  Fixture f;
  os::UniqueFd c = f.Connect();
  for (uint16_t id = 1; id <= 3; ++id) {
    Send(c.get(), Request(id, "/ping", true));
    f.Pump();
    CHECK(Answer(ReadFor(c.get(), 100), id).ends_with("www /ping\n"));
  }
  CHECK(f.server->counters("www").answered == 3);
  CHECK(f.server->clients() == 1);
}

TEST_CASE("status server: connections over max_clients are closed at accept and counted") {
  StatusListenLimits limits;
  limits.max_clients = 2;
  Fixture f(limits);
  os::UniqueFd a = f.Connect(), b = f.Connect(), c = f.Connect();
  f.Pump();
  CHECK(f.server->clients() == 2);
  CHECK(f.server->counters("www").refused_full == 1);
  CHECK(ClosedByPeer(c.get()));
  // The two held ones still get answers.
  Send(a.get(), Request(1, "/live"));
  f.Pump();
  CHECK(Answer(ReadFor(a.get()), 1).ends_with("www /live\n"));
}

TEST_CASE("status server: a slowloris is closed at the timeout and counted; an answered keep-alive is not a trip") {
  StatusListenLimits limits;
  limits.timeout = milliseconds(5000);
  Fixture f(limits);
  os::UniqueFd slow = f.Connect(), kept = f.Connect();
  const std::string req = Request(1, "/ready");
  Send(slow.get(), req.substr(0, 10));  // half a request, then nothing
  Send(kept.get(), Request(2, "/ready", true));
  f.Pump();
  CHECK(Answer(ReadFor(kept.get(), 100), 2).ends_with("www /ready\n"));
  REQUIRE(f.server->NextDeadline().has_value());
  f.server->Expire(f.now + milliseconds(4999));
  CHECK(f.server->clients() == 2);
  f.server->Expire(f.now + milliseconds(5001));
  CHECK(f.server->clients() == 0);
  CHECK(f.server->counters("www").timed_out == 1);
  CHECK(ClosedByPeer(slow.get()));
}

TEST_CASE("status server: params over max_request_bytes close the connection unanswered") {
  StatusListenLimits limits;
  limits.max_request_bytes = 2048;
  Fixture f(limits);
  os::UniqueFd c = f.Connect();
  std::string out;
  fastcgi::AppendBeginRequest(1, fastcgi::Role::kResponder, 0, &out);
  fastcgi::AppendParams(1, {{"SCRIPT_NAME", "/ready"}, {"HTTP_X", std::string(4096, 'a')}}, &out);
  Send(c.get(), out);
  f.Pump();
  CHECK(ClosedByPeer(c.get()));
  CHECK(f.server->counters("www").too_large == 1);
  CHECK(f.server->counters("www").answered == 0);
  CHECK(f.seen_pools.empty());
}

TEST_CASE("status server: a body over max_request_bytes closes the connection") {
  StatusListenLimits limits;
  limits.max_request_bytes = 2048;
  Fixture f(limits);
  os::UniqueFd c = f.Connect();
  std::string out;
  fastcgi::AppendBeginRequest(1, fastcgi::Role::kResponder, 1, &out);
  fastcgi::AppendParams(1, {{"SCRIPT_NAME", "/ready"}}, &out);
  Send(c.get(), out);
  f.Pump();
  (void)ReadFor(c.get(), 100);  // the answer (it came before the body)
  std::string body;
  fastcgi::AppendStdin(1, std::string(4000, 'b'), &body);
  std::string next;
  fastcgi::AppendBeginRequest(2, fastcgi::Role::kResponder, 1, &next);
  fastcgi::AppendParams(2, {{"SCRIPT_NAME", "/ready"}}, &next);
  fastcgi::AppendStdin(2, std::string(4000, 'b'), &next);
  Send(c.get(), body + next);
  f.Pump();
  CHECK(ClosedByPeer(c.get()));
  CHECK(f.server->counters("www").too_large == 1);
}

TEST_CASE("status server: garbage is a protocol error and closes") {
  Fixture f;
  os::UniqueFd c = f.Connect();
  Send(c.get(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  f.Pump();
  CHECK(ClosedByPeer(c.get()));
  CHECK(f.server->counters("www").protocol == 1);
}

TEST_CASE("status server: Stop closes the pool's connections and its socket is no longer watched") {
  Fixture f;
  os::UniqueFd c = f.Connect();
  f.Pump();
  CHECK(f.server->clients() == 1);
  f.server->Stop("www");
  CHECK(f.server->clients() == 0);
  CHECK(f.server->Pools().empty());
  CHECK(ClosedByPeer(c.get()));
}

}  // namespace
}  // namespace tfpm::supervisor
