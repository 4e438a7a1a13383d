#include "os/fd_io.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "os/event_fd.h"
#include "os/inotify.h"
#include "os/socket_io.h"
#include "os/this_process.h"
#include "support/temp_dir.h"

namespace tfpm::os {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

TEST_CASE("a socket pair: send, read, EAGAIN when empty, EOF when closed") {
  auto pair = StreamSocketPair();
  REQUIRE(pair.ok());
  auto& [a, b] = pair.value();
  REQUIRE(SendSome(a.get(), "ready\n", SendMode::kDontWait).value() == 6);
  char buf[16];
  auto n = ReadSome(b.get(), buf);
  REQUIRE(n.ok());
  CHECK(std::string(buf, *n) == "ready\n");
  REQUIRE(fcntl(b.get(), F_SETFL, O_NONBLOCK) == 0);
  auto empty = ReadSome(b.get(), buf);
  REQUIRE_FALSE(empty.ok());
  CHECK(WouldBlock(empty.status()));
  a.Reset();
  auto eof = ReadSome(b.get(), buf);
  REQUIRE(eof.ok());
  CHECK(*eof == 0);
  // Sending to a closed peer is an error, not SIGPIPE.
  auto sent = SendSome(b.get(), "x", SendMode::kBlocking);
  REQUIRE_FALSE(sent.ok());
  CHECK_FALSE(WouldBlock(sent.status()));
}

TEST_CASE("poll: timeout, readiness, and a bad descriptor is an error") {
  auto pair = StreamSocketPair();
  REQUIRE(pair.ok());
  pollfd p{pair->second.get(), POLLIN, 0};
  CHECK(Poll({&p, 1}, 0).value() == 0);
  REQUIRE(WriteSome(pair->first.get(), "x").ok());
  CHECK(Poll({&p, 1}, 1000).value() == 1);
  CHECK((p.revents & POLLIN) != 0);
  // poll(2) itself only fails for bad arguments: an fd in revents is POLLNVAL.
  pollfd bad{1 << 29, POLLIN, 0};
  CHECK(Poll({&bad, 1}, 0).value() == 1);
  CHECK((bad.revents & POLLNVAL) != 0);
}

TEST_CASE("append files: open, write, replace under the same number, read back") {
  TempDir tmp;
  const std::string one = (tmp.dir / "one.log").string(), two = (tmp.dir / "two.log").string();
  auto a = OpenForAppend(one, 0600);
  REQUIRE(a.ok());
  auto b = OpenForAppend(two, 0600);
  REQUIRE(b.ok());
  REQUIRE(WriteSome(a->get(), "first\n").ok());
  REQUIRE(DuplicateOnto(b->get(), a->get()).ok());
  REQUIRE(WriteSome(a->get(), "second\n").ok());
  int rd = ::open(two.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(rd >= 0);
  CHECK(ReadAllAt(rd, 0).value() == "second\n");
  CHECK(ReadAllAt(rd, 3).value() == "ond\n");
  CHECK(CloseFd(rd).ok());
  CHECK_FALSE(CloseFd(rd).ok());  // EBADF now
  auto missing = OpenForAppend((tmp.dir / "no" / "such.log").string(), 0600);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("no/such.log") != std::string::npos);
}

TEST_CASE("access(2): allowed, missing") {
  TempDir tmp;
  CHECK(Accessible(tmp.dir.string(), R_OK | X_OK).value());
  CHECK_FALSE(Accessible((tmp.dir / "nothing").string(), R_OK).ok());
}

TEST_CASE("eventfd: readable once signalled") {
  auto fd = CreateEventFd();
  REQUIRE(fd.ok());
  pollfd p{fd->get(), POLLIN, 0};
  CHECK(Poll({&p, 1}, 0).value() == 0);
  REQUIRE(SignalEventFd(fd->get()).ok());
  CHECK(Poll({&p, 1}, 0).value() == 1);
}

TEST_CASE("inotify: a change in a watched directory is seen once") {
  TempDir tmp;
  auto fd = InotifyOpen();
  REQUIRE(fd.ok());
  REQUIRE(InotifyWatch(fd->get(), tmp.dir.string(), IN_CREATE | IN_CLOSE_WRITE).ok());
  CHECK_FALSE(InotifyDrain(fd->get()));
  std::ofstream(tmp.dir / "f.php") << "<?php";
  CHECK(InotifyDrain(fd->get()));
  CHECK_FALSE(InotifyDrain(fd->get()));
  CHECK_FALSE(InotifyWatch(fd->get(), (tmp.dir / "missing").string(), IN_CREATE).ok());
}

TEST_CASE("accept: a refused call reports its errno") {
  auto pair = StreamSocketPair();
  REQUIRE(pair.ok());
  sockaddr_storage peer{};
  socklen_t len = sizeof(peer);
  const Accepted a = AcceptConnection(pair->first.get(), &peer, &len);  // not a listener
  CHECK_FALSE(a.fd.valid());
  CHECK(a.error == EINVAL);
  CHECK(Shutdown(pair->first.get(), ShutdownHow::kWrite).ok());
  char c;
  CHECK(ReadSome(pair->second.get(), {&c, 1}).value() == 0);
}

TEST_CASE("a non-blocking socket pair: both ends O_NONBLOCK and close-on-exec") {
  auto pair = StreamSocketPair(IoMode::kNonBlocking);
  REQUIRE(pair.ok());
  for (int fd : {pair->first.get(), pair->second.get()}) {
    CHECK((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
    CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  }
  char buf[4];
  auto empty = ReadSome(pair->second.get(), buf);
  REQUIRE_FALSE(empty.ok());
  CHECK(WouldBlock(empty.status()));
  auto blocking = StreamSocketPair();
  REQUIRE(blocking.ok());
  CHECK((::fcntl(blocking->first.get(), F_GETFL) & O_NONBLOCK) == 0);
}

TEST_CASE("a pipe: what is written to the write end is read from the read end, EOF once it closes") {
  auto p = Pipe();
  REQUIRE(p.ok());
  auto& [r, w] = p.value();
  CHECK((::fcntl(r.get(), F_GETFD) & FD_CLOEXEC) != 0);
  CHECK((::fcntl(w.get(), F_GETFD) & FD_CLOEXEC) != 0);
  REQUIRE(WriteSome(w.get(), "line\n").value() == 5);
  w.Reset();
  char buf[16];
  CHECK(ReadSome(r.get(), buf).value() == 5);
  CHECK(ReadSome(r.get(), buf).value() == 0);
}

TEST_CASE("DuplicateAtLeast: a close-on-exec copy numbered at least `lowest`") {
  auto p = Pipe();
  REQUIRE(p.ok());
  auto copy = DuplicateAtLeast(p->second.get(), 50);
  REQUIRE(copy.ok());
  CHECK(copy->get() >= 50);
  CHECK((::fcntl(copy->get(), F_GETFD) & FD_CLOEXEC) != 0);
  REQUIRE(WriteSome(copy->get(), "x").value() == 1);  // the same pipe
  char c;
  CHECK(ReadSome(p->first.get(), {&c, 1}).value() == 1);
  auto bad = DuplicateAtLeast(-1, 3);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("F_DUPFD_CLOEXEC") != std::string::npos);
}

TEST_CASE("the environment and the process ids") {
  REQUIRE(SetEnvironmentVariable("TFPM_FD_IO_TEST", "secret").ok());
  const char* value = std::getenv("TFPM_FD_IO_TEST");
  REQUIRE(value != nullptr);
  CHECK(std::string(value) == "secret");
  CHECK_FALSE(SetEnvironmentVariable("A=B", "x").ok());
  CHECK(CurrentPid() == ::getpid());
  CHECK(ParentPid() == ::getppid());
  CHECK(EffectiveUid() == ::geteuid());
}

}  // namespace
}  // namespace tfpm::os
