// UnavailableAnswerer over real unix sockets (no daemon): what a client of a
// failed pool gets, and that nothing a client does holds the answerer.
#include "supervisor/unavailable_answerer.h"

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/resource.h>
#include <arpa/inet.h>
#include <netinet/in.h>
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

struct Fixture {
  std::string path;
  os::UniqueFd listener;
  std::optional<os::Poller> poller;
  std::shared_ptr<const std::string> why = std::make_shared<const std::string>("tfpm: pool www has failed");
  const os::TimePoint t0{};

  Fixture() {
    char dir[] = "/tmp/tfpm-answerer-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    path = std::string(dir) + "/www.sock";
    auto fd = os::Listen(os::ListenAddress{os::ListenAddress::Kind::kUnix, path, "", 0}, os::ListenOptions{});
    REQUIRE(fd.ok());
    listener = std::move(fd.value());
    auto p = os::Poller::Create();
    REQUIRE(p.ok());
    poller.emplace(std::move(p.value()));
  }
  ~Fixture() {
    ::unlink(path.c_str());
    ::rmdir(path.substr(0, path.rfind('/')).c_str());
  }
  os::UniqueFd Connect() {
    auto fd = os::ConnectUnix(path);
    REQUIRE(fd.ok());
    return std::move(fd.value());
  }
  // Delivers the poller's events to `a` until nothing is pending.
  void Pump(UnavailableAnswerer& a) {
    epoll_event events[16];
    for (int round = 0; round < 100; ++round) {
      const int n = poller->Wait(events, milliseconds(20));
      if (n <= 0) return;
      for (int i = 0; i < n; ++i) a.OnEvent(static_cast<int>(events[i].data.u64 & 0xffffffff));
    }
  }
};

std::string Request(uint16_t id) {
  std::string out;
  fastcgi::AppendBeginRequest(id, fastcgi::Role::kResponder, 0, &out);
  fastcgi::AppendParams(id, {{"REQUEST_METHOD", "GET"}, {"SCRIPT_FILENAME", "/srv/index.php"}}, &out);
  fastcgi::AppendStdin(id, "", &out);
  return out;
}

// Reads until EOF (or 2 s); the bytes received.
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool Closed(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 2000) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

TEST_CASE("a waiting request gets a 503 for its request id, then the connection ends") {
  Fixture f;
  UnavailableAnswerer a(&*f.poller, 0, UnavailableAnswerer::Limits{});
  os::UniqueFd client = f.Connect();
  const std::string req = Request(9);
  REQUIRE(::send(client.get(), req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
  CHECK(a.AcceptFrom(f.listener.get(), f.why, f.t0) == 1);
  CHECK(a.answered() == 1);
  // Half-closed by the answerer: the client reads the answer, then EOF.
  const std::string got = ReadAll(client.get());
  fastcgi::ResponseReader reader(9);
  REQUIRE(reader.Feed(got).ok());
  CHECK(reader.done());
  CHECK(reader.stderr_data() == "tfpm: pool www has failed");
  fastcgi::CgiResponse cgi;
  REQUIRE(fastcgi::ParseCgiResponse(reader.stdout_data(), &cgi).ok());
  CHECK(cgi.status == 503);
  // The client closes; the answerer lets go of the connection.
  client.Reset();
  f.Pump(a);
  CHECK(a.clients() == 0);
}

TEST_CASE("a request that arrives after the accept, byte by byte, is answered") {
  Fixture f;
  UnavailableAnswerer a(&*f.poller, 0, UnavailableAnswerer::Limits{});
  os::UniqueFd client = f.Connect();
  CHECK(a.AcceptFrom(f.listener.get(), f.why, f.t0) == 1);
  CHECK(a.answered() == 0);
  CHECK(a.clients() == 1);
  const std::string req = Request(1);
  for (char c : req) {
    REQUIRE(::send(client.get(), &c, 1, 0) == 1);
    f.Pump(a);
  }
  CHECK(a.answered() == 1);
  fastcgi::ResponseReader reader(1);
  REQUIRE(reader.Feed(ReadAll(client.get())).ok());
  CHECK(reader.done());
}

TEST_CASE("a client that sends nothing is closed when its lifetime is over") {
  Fixture f;
  UnavailableAnswerer::Limits limits;
  limits.lifetime = milliseconds(2000);
  UnavailableAnswerer a(&*f.poller, 0, limits);
  os::UniqueFd client = f.Connect();
  CHECK(a.AcceptFrom(f.listener.get(), f.why, f.t0) == 1);
  CHECK(a.NextDeadline() == f.t0 + milliseconds(2000));
  a.Expire(f.t0 + milliseconds(1999));
  CHECK(a.clients() == 1);
  a.Expire(f.t0 + milliseconds(2000));
  CHECK(a.clients() == 0);
  CHECK(a.NextDeadline() == std::nullopt);
  CHECK(Closed(client.get()));
}

TEST_CASE("not FastCGI: closed at once, unanswered") {
  Fixture f;
  UnavailableAnswerer a(&*f.poller, 0, UnavailableAnswerer::Limits{});
  os::UniqueFd client = f.Connect();
  const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(::send(client.get(), http.data(), http.size(), 0) > 0);
  CHECK(a.AcceptFrom(f.listener.get(), f.why, f.t0) == 1);
  CHECK(a.clients() == 0);
  CHECK(a.answered() == 0);
  CHECK(ReadAll(client.get()).empty());
}

TEST_CASE("at most max_clients at once; the rest wait in the accept queue") {
  Fixture f;
  UnavailableAnswerer::Limits limits;
  limits.max_clients = 3;
  UnavailableAnswerer a(&*f.poller, 0, limits);
  std::vector<os::UniqueFd> clients;
  for (int i = 0; i < 5; ++i) clients.push_back(f.Connect());
  CHECK(a.AcceptFrom(f.listener.get(), f.why, f.t0) == 3);
  CHECK(a.full());
  CHECK(a.AcceptFrom(f.listener.get(), f.why, f.t0) == 0);
  a.Expire(f.t0 + limits.lifetime);
  CHECK_FALSE(a.full());
  CHECK(a.AcceptFrom(f.listener.get(), f.why, f.t0) == 2);
}

TEST_CASE("after the answer, request bytes are read and dropped up to max_discard") {
  Fixture f;
  UnavailableAnswerer::Limits limits;
  limits.max_discard = 64 * 1024;
  UnavailableAnswerer a(&*f.poller, 0, limits);
  os::UniqueFd client = f.Connect();
  const std::string req = Request(1);
  REQUIRE(::send(client.get(), req.data(), req.size(), 0) > 0);
  CHECK(a.AcceptFrom(f.listener.get(), f.why, f.t0) == 1);
  CHECK(a.answered() == 1);
  // A client that keeps sending a body: dropped, then cut off.
  const std::string chunk(16 * 1024, 'x');
  for (int i = 0; i < 8 && a.clients() > 0; ++i) {
    (void)::send(client.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    f.Pump(a);
  }
  CHECK(a.clients() == 0);
}

TEST_CASE("out of descriptors: the answerer pauses instead of spinning on the readable socket") {
  Fixture f;
  UnavailableAnswerer::Limits limits;
  limits.exhausted_pause = milliseconds(500);
  UnavailableAnswerer a(&*f.poller, 0, limits);
  os::UniqueFd client = f.Connect();
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
  // Use up every descriptor below a low soft limit.
  std::vector<os::UniqueFd> fillers;
  rlimit low = old;
  low.rlim_cur = 256;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  for (;;) {
    const int fd = ::dup(0);
    if (fd < 0) break;
    fillers.emplace_back(fd);
  }
  const int accepted = a.AcceptFrom(f.listener.get(), f.why, f.t0);
  const bool paused = !a.CanAccept(f.t0 + milliseconds(499));
  fillers.clear();
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &old) == 0);
  CHECK(accepted == 0);
  CHECK(a.exhausted() == 1);
  CHECK(paused);
  CHECK(a.NextDeadline() == f.t0 + milliseconds(500));
  a.Expire(f.t0 + milliseconds(500));
  CHECK(a.CanAccept(f.t0 + milliseconds(500)));
  CHECK(a.NextDeadline() == std::nullopt);
  // The connection waited in the queue and is answered now.
  CHECK(a.AcceptFrom(f.listener.get(), f.why, f.t0 + milliseconds(500)) == 1);
}

TEST_CASE("a failed pool's listen_allowed_clients hold: other peers are closed unanswered and named") {
  auto lfd = os::Listen(os::ListenAddress{os::ListenAddress::Kind::kTcp, "", "127.0.0.1", 0}, os::ListenOptions{});
  REQUIRE(lfd.ok());
  os::UniqueFd listener = std::move(lfd.value());
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  auto connect_from = [&](const char* source) {
    os::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in src{};
    src.sin_family = AF_INET;
    REQUIRE(::inet_pton(AF_INET, source, &src.sin_addr) == 1);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof(src)) == 0);
    REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    const std::string req = Request(1);
    REQUIRE(::send(fd.get(), req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
    return fd;
  };
  auto p = os::Poller::Create();
  REQUIRE(p.ok());
  os::Poller poller = std::move(p.value());
  UnavailableAnswerer a(&poller, 0, UnavailableAnswerer::Limits{});
  auto clients = base::ClientFilter::Parse({"127.0.0.1"});
  REQUIRE(clients.ok());
  auto why = std::make_shared<const std::string>("tfpm: pool www has failed");
  os::UniqueFd outsider = connect_from("127.0.0.2");
  os::UniqueFd insider = connect_from("127.0.0.1");
  std::vector<std::string> refused;
  int accepted = 0;
  for (int i = 0; i < 100 && accepted + refused.size() < 2; ++i) {
    accepted += a.AcceptFrom(listener.get(), why, os::TimePoint{}, &clients.value(), &refused);
    if (accepted + refused.size() < 2) ::poll(nullptr, 0, 10);
  }
  CHECK(accepted == 1);
  CHECK(refused == std::vector<std::string>{"127.0.0.2"});
  CHECK(a.answered() == 1);
  CHECK(ReadAll(outsider.get()).empty());  // closed, not a byte of answer
  CHECK(ReadAll(insider.get()).find("Status: 503") != std::string::npos);
}

}  // namespace
}  // namespace tfpm::supervisor
