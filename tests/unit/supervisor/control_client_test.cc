#include "supervisor/control_client.h"

#include <doctest/doctest.h>
#include <sys/socket.h>

#include <string>

#include "os/fd_io.h"

namespace tfpm::supervisor {
namespace {

constexpr gid_t kNoGroup = static_cast<gid_t>(-1);

TEST_CASE("MayControl: root, the daemon's user, the socket's owner and group; nobody else") {
  CHECK(MayControl(Caller{0, 50}, 1000, 1000, kNoGroup));
  CHECK(MayControl(Caller{1000, 50}, 1000, 1000, kNoGroup));
  CHECK(MayControl(Caller{2000, 50}, 1000, 2000, kNoGroup));   // control_socket_owner
  CHECK(MayControl(Caller{3000, 77}, 1000, 1000, 77));         // control_socket_group
  CHECK_FALSE(MayControl(Caller{3000, 77}, 1000, 1000, kNoGroup));
  CHECK_FALSE(MayControl(Caller{3000, 50}, 1000, 2000, 77));
  // No group set: a caller whose gid happens to be (gid_t)-1 is not let in.
  CHECK_FALSE(MayControl(Caller{3000, kNoGroup}, 1000, 1000, kNoGroup));
}

TEST_CASE("ClassifyRequestLine: a newline completes; the bound or a close without one refuses") {
  CHECK(ClassifyRequestLine("", false, 16) == RequestLine::kIncomplete);
  CHECK(ClassifyRequestLine("{\"cmd\"", false, 16) == RequestLine::kIncomplete);
  CHECK(ClassifyRequestLine("{\"cmd\"", true, 16) == RequestLine::kUnfinished);
  CHECK(ClassifyRequestLine("{}\n", false, 16) == RequestLine::kComplete);
  CHECK(ClassifyRequestLine("{}\n", true, 16) == RequestLine::kComplete);
  CHECK(ClassifyRequestLine(std::string(16, 'x'), false, 16) == RequestLine::kTooLong);
  CHECK(ClassifyRequestLine(std::string(16, 'x'), true, 16) == RequestLine::kTooLong);
}

ControlClient ClientOn(os::UniqueFd fd) {
  ControlClient c;
  c.fd = std::move(fd);
  return c;
}

TEST_CASE("ReadRequestLine: pieces add up to the line; nothing is read past the bound") {
  auto pair = os::StreamSocketPair(os::IoMode::kNonBlocking);
  REQUIRE(pair.ok());
  ControlClient c = ClientOn(std::move(pair->first));
  CHECK(ReadRequestLine(c, 64) == RequestLine::kIncomplete);  // nothing sent yet
  REQUIRE(os::SendSome(pair->second.get(), "{\"cmd\":", os::SendMode::kDontWait).ok());
  CHECK(ReadRequestLine(c, 64) == RequestLine::kIncomplete);
  REQUIRE(os::SendSome(pair->second.get(), "\"status\"}\n", os::SendMode::kDontWait).ok());
  CHECK(ReadRequestLine(c, 64) == RequestLine::kComplete);
  CHECK(c.in == "{\"cmd\":\"status\"}\n");

  auto pair2 = os::StreamSocketPair(os::IoMode::kNonBlocking);
  REQUIRE(pair2.ok());
  ControlClient big = ClientOn(std::move(pair2->first));
  REQUIRE(os::SendSome(pair2->second.get(), std::string(100, 'x'), os::SendMode::kDontWait).ok());
  CHECK(ReadRequestLine(big, 64) == RequestLine::kTooLong);
  CHECK(big.in.size() == 64);

  auto pair3 = os::StreamSocketPair(os::IoMode::kNonBlocking);
  REQUIRE(pair3.ok());
  ControlClient gone = ClientOn(std::move(pair3->first));
  REQUIRE(os::SendSome(pair3->second.get(), "{}", os::SendMode::kDontWait).ok());
  pair3->second.Reset();
  CHECK(ReadRequestLine(gone, 64) == RequestLine::kUnfinished);
}

TEST_CASE("SendPending: sends what the socket takes, the rest later; a vanished client counts as done") {
  auto pair = os::StreamSocketPair(os::IoMode::kNonBlocking);
  REQUIRE(pair.ok());
  int size = 4096;
  REQUIRE(::setsockopt(pair->first.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) == 0);
  ControlClient c = ClientOn(std::move(pair->first));
  c.out = std::string(1 << 20, 'r');
  CHECK_FALSE(SendPending(c));  // the socket is full
  CHECK(c.sent > 0);
  CHECK(c.sent < c.out.size());
  // The reader goes away: nothing more can be sent, the client is done.
  pair->second.Reset();
  CHECK(SendPending(c));

  auto pair2 = os::StreamSocketPair(os::IoMode::kNonBlocking);
  REQUIRE(pair2.ok());
  ControlClient small = ClientOn(std::move(pair2->first));
  small.out = "{\"ok\":true}\n";
  CHECK(SendPending(small));
  CHECK(small.sent == small.out.size());
  char buf[64];
  CHECK(os::ReadSome(pair2->second.get(), buf).value() == small.out.size());
}

TEST_CASE("LongestWaiting: the client with the earliest deadline") {
  std::map<int, ControlClient> clients;
  const os::TimePoint t0{};
  clients[5].deadline = t0 + std::chrono::seconds(3);
  clients[7].deadline = t0 + std::chrono::seconds(1);
  clients[9].deadline = t0 + std::chrono::seconds(2);
  CHECK(LongestWaiting(clients)->first == 7);
}

}  // namespace
}  // namespace tfpm::supervisor
