// request_terminate_timeout's TerminateRequest against the real ZTS
// libphp: what it may touch once the request it was aimed at is over.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "fakes/memory_exchange.h"
#include "sapi/php_embed.h"
#include "sapi/sapi_test_util.h"

namespace tfpm::sapi {
namespace {

constexpr int kIndex = 901;  // a PhpThreadScope index no other test uses

// The race CI's ThreadSanitizer build caught (2026-12-04): the watchdog
// found request `seq` running, the request ended, the thread took the next
// connection and blocked reading it, and the watchdog then shut down the
// socket that thread was reading — a healthy request's connection. The
// seam holds the watchdog between its check and its action for as long as
// the old code needed: until the thread sits in read() on the next socket
// (or 1 s, if the thread cannot get there, which is the fix).
TEST_CASE("TerminateRequest never shuts down a socket the thread waits on after that request ended") {
  auto script = Rt().Script("ends_soon.php", "<?php usleep(300000); echo 'done';");
  int next[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, next) == 0);
  std::atomic<bool> reading{false};
  std::atomic<long> got{-2};
  std::string body;
  std::thread php([&] {
    PhpThreadScope scope(kIndex);
    MemoryExchange ex(Base(script));
    ExecuteRequest(ex);
    body = ex.Body();
    // As the dispatcher does after a request: wait on the next connection.
    reading = true;
    char c = 0;
    got = ::read(next[0], &c, 1);
  });
  const uint64_t seq = RunningSeq(kIndex);
  REQUIRE(seq != 0);
  SetTerminateRequestSeamForTest([&] {
    for (int i = 0; i < 1000 && !reading; ++i) ::usleep(1000);
    ::usleep(50000);  // long enough to be inside read()
  });
  TerminateRequest(kIndex, seq);
  SetTerminateRequestSeamForTest(nullptr);
  // Fails (EPIPE) if the watchdog shut the next connection down.
  CHECK(::send(next[1], "x", 1, MSG_NOSIGNAL) == 1);
  php.join();
  CHECK(got == 1);  // 0: read() saw the shutdown
  CHECK(body == "done");  // the request ended on its own, before the kill could act
  ::close(next[0]);
  ::close(next[1]);
}

}  // namespace
}  // namespace tfpm::sapi
