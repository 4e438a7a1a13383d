#include "supervisor/pool_status.h"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "os/socket.h"

namespace tfpm::supervisor {
namespace {

// A scoreboard segment in ordinary memory, written as a worker would.
struct Board {
  explicit Board(uint32_t threads, int32_t pid) : mem(scoreboard::SegmentSize(threads)) {
    seg().Initialize(threads, pid, 1'000'000);
  }
  scoreboard::Segment seg() { return scoreboard::Segment(mem.data(), mem.size()); }
  scoreboard::SlotWriter writer(uint32_t t) { return scoreboard::SlotWriter(seg().slot(t)); }
  std::vector<char> mem;
};

scoreboard::SlotWriter::Request Req(std::string_view script_name, std::string_view query) {
  scoreboard::SlotWriter::Request r;
  r.method = "POST";
  r.uri = "/pretty/url";
  r.script = "/srv/www/index.php";
  r.script_name = script_name;
  r.query = query;
  r.content_length = 42;
  return r;
}

TEST_CASE("idle and active threads, accepted requests and the memory peak are summed over the pool") {
  Board a(2, 100), b(2, 200);
  for (uint32_t t = 0; t < 2; ++t) {
    a.writer(t).SetState(scoreboard::ThreadState::kIdle);
    b.writer(t).SetState(scoreboard::ThreadState::kIdle);
  }
  // a/0 served two requests; b/1 is running one.
  a.writer(0).BeginRequest(10'000'000, 0, Req("/index.php", "a=1"));
  a.writer(0).EndRequest(10'500'000, 250'000'000, 200, 4 << 20, "alice");
  a.writer(0).BeginRequest(11'000'000, 0, Req("/index.php", ""));
  a.writer(0).EndRequest(11'100'000, 0, 200, 2 << 20, "");
  b.writer(1).BeginRequest(12'000'000, 0, Req("/slow.php", "x=<1>"));

  PoolCounters c;
  c.start_epoch = 5;
  c.retired_requests = 7;
  c.retired_memory_peak = 3 << 20;
  PoolInfo info{.name = "www", .process_manager = "static"};
  const auto st = PoolStatus(info, c, {a.seg(), b.seg()}, ListenQueue{.current = 3, .limit = 128, .known = true},
                             true, 13'000'000);
  CHECK(st["pool"] == "www");
  CHECK(st["accepted_conn"] == 7 + 2 + 1);  // counted when a request begins
  CHECK(st["idle_processes"] == 3);
  CHECK(st["active_processes"] == 1);
  CHECK(st["memory_peak"] == 4 << 20);       // the largest, not the last
  CHECK(st["listen_queue"] == 3);
  CHECK(st["listen_queue_len"] == 128);
  CHECK(st["max_listen_queue"] == 3);        // at least what is queued now
  REQUIRE(st["processes"].size() == 4);
  const auto& done = st["processes"][0];
  CHECK(done["pid"] == 100);
  CHECK(done["state"] == "Idle");
  CHECK(done["requests"] == 2);
  CHECK(done["request_duration"] == 100'000);  // the last request's
  CHECK(done["request_uri"] == "/index.php");
  CHECK(done["query_string"] == "");
  CHECK(done["last_request_memory"] == 2 << 20);
  const auto& running = st["processes"][3];
  CHECK(running["pid"] == 200);
  CHECK(running["state"] == "Running");
  CHECK(running["request_duration"] == 1'000'000);  // so far
  CHECK(running["request_method"] == "POST");
  CHECK(running["request_uri"] == "/slow.php");
  CHECK(running["query_string"] == "x=<1>");
  CHECK(running["content_length"] == 42);
  CHECK(running["last_request_memory"] == 0);  // php-fpm: only once finished
  CHECK(running["last_request_cpu"] == 0.0);
}

TEST_CASE("last request cpu is CPU time over wall time, in percent; user is the last request's") {
  Board a(1, 1);
  a.writer(0).BeginRequest(0, 1'000'000'000, Req("/a.php", ""));
  a.writer(0).EndRequest(400'000, 1'100'000'000, 200, 1, "bob");  // 100 ms CPU in 400 ms
  const auto st = PoolStatus({.name = "p"}, PoolCounters{}, {a.seg()}, {}, true, 500'000);
  CHECK(st["processes"][0]["last_request_cpu"].get<double>() == doctest::Approx(25.0));
  CHECK(st["processes"][0]["user"] == "bob");
}

TEST_CASE("without full there are no rows") {
  Board a(1, 1);
  const auto st = PoolStatus({.name = "p"}, PoolCounters{}, {a.seg()}, {}, false, 0);
  CHECK_FALSE(st.contains("processes"));
}

TEST_CASE("starting, failed and stopped threads are neither idle nor active") {
  Board a(4, 1);
  a.writer(0).SetState(scoreboard::ThreadState::kStarting);
  a.writer(1).SetState(scoreboard::ThreadState::kFailed);
  a.writer(2).SetState(scoreboard::ThreadState::kStopped);
  a.writer(3).SetState(scoreboard::ThreadState::kIdle);
  const Occupancy o = CountThreads({a.seg()});
  CHECK(o.idle == 1);
  CHECK(o.active == 0);
}

TEST_CASE("a retired process's requests, timeouts and memory peak stay in the counters") {
  Board a(2, 1);
  a.writer(0).BeginRequest(0, 0, Req("/a.php", ""));
  a.writer(0).EndRequest(1, 0, 200, 9000, "");
  a.writer(1).BeginRequest(0, 0, Req("/a.php", ""));
  a.seg().header()->slow_requests.store(2);
  a.seg().header()->terminated_requests.store(1);
  a.seg().header()->rejected_requests.store(4);
  Board live(1, 2);
  live.seg().header()->rejected_requests.store(1);
  PoolCounters c;
  c.Retire(a.seg());
  CHECK(c.retired_requests == 2);
  CHECK(c.retired_slow == 2);
  CHECK(c.retired_terminated == 1);
  CHECK(c.retired_memory_peak == 9000);
  const auto st = PoolStatus({.name = "p"}, c, {live.seg()}, {}, false, 0);
  CHECK(st["accepted_conn"] == 2);
  CHECK(st["slow_requests"] == 2);
  CHECK(st["terminated_requests"] == 1);
  CHECK(st["rejected_requests"] == 4 + 1);  // retired and live
}

TEST_CASE("max children reached counts episodes of a pool at its limit, not samples") {
  PoolCounters c;
  Sample(&c, {.idle = 1, .active = 3}, {}, 4);
  CHECK(c.max_children_reached == 0);
  CHECK(c.max_active == 3);
  Sample(&c, {.idle = 0, .active = 4}, {.current = 5}, 4);
  Sample(&c, {.idle = 0, .active = 4}, {}, 4);
  CHECK(c.max_children_reached == 1);
  Sample(&c, {.idle = 2, .active = 2}, {}, 4);
  Sample(&c, {.idle = 0, .active = 4}, {}, 4);
  CHECK(c.max_children_reached == 2);
  CHECK(c.max_active == 4);
  CHECK(c.max_listen_queue == 5);
  Sample(&c, {.idle = 0, .active = 0}, {}, 4);  // no thread at all is not "at the limit"
  CHECK(c.max_children_reached == 2);
  // pm dynamic: every running thread busy, but the pool may still start more.
  Sample(&c, {.idle = 0, .active = 3}, {}, 8);
  CHECK(c.max_children_reached == 2);
}

// The kernel's own numbers for real listening sockets.
void ConnectPending(const os::ListenAddress& addr, int n, std::vector<os::UniqueFd>* keep) {
  for (int i = 0; i < n; ++i) {
    const bool unix_socket = addr.kind == os::ListenAddress::Kind::kUnix;
    os::UniqueFd c(::socket(unix_socket ? AF_UNIX : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(c);
    int rc;
    if (unix_socket) {
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", addr.path.c_str());
      rc = ::connect(c.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    } else {
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(addr.port);
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      rc = ::connect(c.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    }
    REQUIRE(rc == 0);
    keep->push_back(std::move(c));
  }
}

TEST_CASE("listen queue of a unix socket: pending connections and backlog from sock_diag") {
  const std::string path = "/tmp/tfpm-unit-lq-" + std::to_string(::getpid()) + ".sock";
  auto addr = os::ParseListenAddress(path);
  REQUIRE(addr.ok());
  os::ListenOptions lo;
  lo.backlog = 64;
  auto fd = os::Listen(*addr, lo);
  REQUIRE(fd.ok());
  ListenQueue q = ReadListenQueue(fd->get());
  CHECK(q.known);
  CHECK(q.current == 0);
  CHECK(q.limit == 64);
  std::vector<os::UniqueFd> clients;
  ConnectPending(*addr, 3, &clients);
  q = ReadListenQueue(fd->get());
  CHECK(q.current == 3);
  ::unlink(path.c_str());
}

TEST_CASE("listen queue of a TCP socket: TCP_INFO, as php-fpm") {
  std::optional<os::ListenAddress> addr(std::in_place);
  addr->kind = os::ListenAddress::Kind::kTcp;
  addr->host = "127.0.0.1";
  addr->port = 0;  // any free port
  os::ListenOptions lo;
  lo.backlog = 32;
  auto fd = os::Listen(*addr, lo);
  REQUIRE(fd.ok());
  sockaddr_in bound{};
  socklen_t len = sizeof(bound);
  REQUIRE(::getsockname(fd->get(), reinterpret_cast<sockaddr*>(&bound), &len) == 0);
  addr->port = ntohs(bound.sin_port);
  ListenQueue q = ReadListenQueue(fd->get());
  CHECK(q.known);
  CHECK(q.limit == 32);
  std::vector<os::UniqueFd> clients;
  ConnectPending(*addr, 2, &clients);
  q = ReadListenQueue(fd->get());
  CHECK(q.current == 2);
}

TEST_CASE("client bytes that are not UTF-8 reach the status JSON as U+FFFD, and it serialises") {
  // The reproductions: Authorization: Basic of the bytes "\xff:x"
  // (the user of an idle thread's last request), a Latin-1 query and URI on
  // a running one, and a UTF-8 query longer than the 255-byte field.
  Board a(3, 100);
  for (uint32_t t = 0; t < 3; ++t) a.writer(t).SetState(scoreboard::ThreadState::kIdle);
  a.writer(0).BeginRequest(10'000'000, 0, Req("/index.php", "a=1"));
  a.writer(0).EndRequest(10'500'000, 0, 200, 1 << 20, "\xff");
  scoreboard::SlotWriter::Request r = Req("/caf\xe9.php", "q=\xe9t\xe9");
  r.method = "G\xc0T";
  r.script = "/srv/caf\xe9.php";
  a.writer(1).BeginRequest(11'000'000, 0, r);
  std::string long_query;
  for (int i = 0; i < 200; ++i) long_query += "\xc3\xa9";
  a.writer(2).BeginRequest(11'000'000, 0, Req("/index.php", long_query));

  PoolInfo info{.name = "www", .process_manager = "static"};
  const auto st = PoolStatus(info, PoolCounters{}, {a.seg()}, ListenQueue{}, true, 12'000'000);
  std::string text;
  REQUIRE_NOTHROW(text = st.dump());
  const auto& rows = st["processes"];
  REQUIRE(rows.size() == 3);
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(rows[0]["user"] == fffd);
  CHECK(rows[1]["request_uri"] == "/caf" + fffd + ".php");
  CHECK(rows[1]["query_string"] == "q=" + fffd + "t" + fffd);
  CHECK(rows[1]["request_method"] == "G" + fffd + "T");
  CHECK(rows[1]["script"] == "/srv/caf" + fffd + ".php");
  // Cut at a character boundary by the scoreboard: 127 whole characters.
  const std::string q = rows[2]["query_string"];
  CHECK(q.size() == 254);
  CHECK(q == long_query.substr(0, 254));
}

TEST_CASE("process recycling: each row shows its process's start and requests; recycle counters survive exits") {
  Board a(2, 100), b(1, 200);
  b.seg().header()->start_time_us = 7'000'000;
  a.writer(0).SetState(scoreboard::ThreadState::kIdle);
  a.writer(1).SetState(scoreboard::ThreadState::kIdle);
  b.writer(0).SetState(scoreboard::ThreadState::kIdle);
  for (int i = 0; i < 3; ++i) {
    a.writer(0).BeginRequest(10'000'000, 0, Req("/index.php", ""));
    a.writer(0).EndRequest(10'100'000, 0, 200, 1 << 20, "");
  }
  a.writer(1).BeginRequest(10'000'000, 0, Req("/index.php", ""));
  a.writer(1).EndRequest(10'100'000, 0, 200, 1 << 20, "");
  b.writer(0).BeginRequest(10'000'000, 0, Req("/index.php", ""));
  b.writer(0).EndRequest(10'100'000, 0, 200, 1 << 20, "");
  a.seg().header()->memory_recycles.store(2);
  a.seg().header()->idle_trims.store(5);
  b.seg().header()->idle_trims.store(1);

  PoolCounters c;
  c.recycles_max_requests = 4;
  c.recycles_memory = 1;
  c.process_restarts[static_cast<size_t>(base::RestartCause::kReload)] = 3;
  // A process that exited had recycled one interpreter.
  Board gone(1, 300);
  gone.seg().header()->memory_recycles.store(1);
  gone.seg().header()->idle_trims.store(10);
  c.Retire(gone.seg());
  PoolInfo info{.name = "www", .process_manager = "static"};
  const auto st = PoolStatus(info, c, {a.seg(), b.seg()}, ListenQueue{}, true, 13'000'000);
  CHECK(st["process_recycles_max_requests"] == 4);
  CHECK(st["process_recycles_memory"] == 1);
  CHECK(st["memory_recycles"] == 2 + 1);
  CHECK(st["idle_trims"] == 5 + 1 + 10);
  CHECK(st["process_restarts_reload"] == 3);
  CHECK(st["process_restarts_crash"] == 0);
  REQUIRE(st["processes"].size() == 3);
  // Both rows of process 100: its 4 requests (3 + 1), its start time.
  CHECK(st["processes"][0]["requests"] == 3);
  CHECK(st["processes"][0]["process_requests"] == 4);
  CHECK(st["processes"][1]["requests"] == 1);
  CHECK(st["processes"][1]["process_requests"] == 4);
  CHECK(st["processes"][0]["process_start_time"] == 1);
  CHECK(st["processes"][2]["process_requests"] == 1);
  CHECK(st["processes"][2]["process_start_time"] == 7);
}

}  // namespace
}  // namespace tfpm::supervisor
