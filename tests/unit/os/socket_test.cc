#include "os/socket.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "os/process.h"

namespace tfpm::os {
namespace {

TEST_CASE("listen addresses as php-fpm users write them") {
  struct Case {
    const char* text;
    ListenAddress::Kind kind;
    const char* host_or_path;
    uint16_t port;
    const char* round_trip;
  };
  const Case cases[] = {
      {"/run/tfpm/www.sock", ListenAddress::Kind::kUnix, "/run/tfpm/www.sock", 0, "/run/tfpm/www.sock"},
      {"127.0.0.1:9000", ListenAddress::Kind::kTcp, "127.0.0.1", 9000, "127.0.0.1:9000"},
      {"[::1]:9001", ListenAddress::Kind::kTcp, "::1", 9001, "[::1]:9001"},
      {"9002", ListenAddress::Kind::kTcp, "", 9002, "9002"},
      {"localhost:9003", ListenAddress::Kind::kTcp, "127.0.0.1", 9003, "127.0.0.1:9003"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    auto a = ParseListenAddress(c.text);
    REQUIRE(a.ok());
    CHECK(a->kind == c.kind);
    CHECK((c.kind == ListenAddress::Kind::kUnix ? a->path : a->host) == c.host_or_path);
    CHECK(a->port == c.port);
    CHECK(a->ToString() == c.round_trip);
  }
}

TEST_CASE("bad listen addresses name the problem") {
  const std::pair<const char*, const char*> cases[] = {
      {"", "listen address is empty"},
      {"127.0.0.1:0", "listen address '127.0.0.1:0': bad port"},
      {"127.0.0.1:70000", "listen address '127.0.0.1:70000': bad port"},
      {"example.com:80", "listen address 'example.com:80': host must be an IP address"},
      {"[::1]9000", "listen address '[::1]9000': expected [v6]:port"},
  };
  for (const auto& [text, message] : cases) {
    CAPTURE(text);
    auto a = ParseListenAddress(text);
    REQUIRE_FALSE(a.ok());
    CHECK(a.status().message() == message);
  }
}

TEST_CASE("a unix listener: mode, stale file replaced, live one refused, peer credentials") {
  char dir[] = "/tmp/tfpm-socket-test-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  ListenAddress addr{ListenAddress::Kind::kUnix, std::string(dir) + "/a.sock", "", 0};
  ListenOptions opt;
  opt.mode = 0600;
  {
    auto fd = Listen(addr, opt);
    REQUIRE(fd.ok());
    struct stat st;
    REQUIRE(::stat(addr.path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto second = Listen(addr, opt);
    REQUIRE_FALSE(second.ok());
    CHECK(second.status().message().find("in use by another process") != std::string::npos);
    auto client = ConnectUnix(addr.path);
    REQUIRE(client.ok());
    auto cred = GetPeerCredentials(client->get());
    REQUIRE(cred.ok());
    CHECK(cred->uid == ::geteuid());
    auto local = LocalAddress(fd->get());
    REQUIRE(local.ok());
    CHECK(local->path == addr.path);
  }
  // The first listener is closed; its file is stale and gets replaced.
  auto again = Listen(addr, opt);
  CHECK(again.ok());
  ::unlink(addr.path.c_str());
  ::rmdir(dir);
}

TEST_CASE("a TCP listener on an ephemeral loopback port reports its address") {
  ListenAddress addr{ListenAddress::Kind::kTcp, "", "127.0.0.1", 0};
  // Port 0 is refused by the parser, not by Listen: bind an ephemeral port.
  auto fd = Listen(addr, ListenOptions{});
  REQUIRE(fd.ok());
  auto local = LocalAddress(fd->get());
  REQUIRE(local.ok());
  CHECK(local->host == "127.0.0.1");
  CHECK(local->port != 0);
}

TEST_CASE("descriptors pass over a socketpair with their tag byte, one per message") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
  UniqueFd a(sv[0]), b(sv[1]);
  int p1[2], p2[2];
  REQUIRE(::pipe(p1) == 0);
  REQUIRE(::pipe(p2) == 0);
  UniqueFd r1(p1[0]), w1(p1[1]), r2(p2[0]), w2(p2[1]);
  REQUIRE(::write(a.get(), "ready\n", 6) == 6);
  CHECK(SendFd(a.get(), w1.get(), 'c'));
  CHECK(SendFd(a.get(), w2.get(), 'c'));

  std::string data;
  std::vector<UniqueFd> fds;
  // Plain bytes and the first descriptor's message; never two descriptors'
  // messages in one read.
  CHECK(ReceiveWithFds(b.get(), &data, &fds) == 7);
  CHECK(data == "ready\nc");
  REQUIRE(fds.size() == 1);
  CHECK(ReceiveWithFds(b.get(), &data, &fds) == 1);
  CHECK(data == "ready\ncc");
  REQUIRE(fds.size() == 2);
  CHECK(ReceiveWithFds(b.get(), &data, &fds) == -1);
  CHECK(errno == EAGAIN);
  // The received descriptors are the pipes' write ends (new numbers, close-on-exec).
  CHECK((::fcntl(fds[0].get(), F_GETFD) & FD_CLOEXEC) != 0);
  REQUIRE(::write(fds[0].get(), "x", 1) == 1);
  REQUIRE(::write(fds[1].get(), "y", 1) == 1);
  char c = 0;
  CHECK(::read(r1.get(), &c, 1) == 1);
  CHECK(c == 'x');
  CHECK(::read(r2.get(), &c, 1) == 1);
  CHECK(c == 'y');
  a.Reset();
  CHECK(ReceiveWithFds(b.get(), &data, &fds) == 0);  // EOF
}

TEST_CASE("wait statuses are described as php-fpm logs them") {
  CHECK(DecodeWaitStatus(1, 0).Describe() == "exited with code 0");
  CHECK(DecodeWaitStatus(1, 3 << 8).Describe() == "exited with code 3");
  CHECK(DecodeWaitStatus(1, 9).Describe() == "exited on signal 9 (SIGKILL)");
  CHECK(DecodeWaitStatus(1, 11 | 0x80).Describe() == "exited on signal 11 (SIGSEGV) (core dumped)");
}

TEST_CASE("a unix socket swapped for a symlink after bind: the link's target is never chmod/chowned") {
  char dir[] = "/tmp/tfpm-socket-swap-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string target = std::string(dir) + "/precious";
  {
    UniqueFd f(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    REQUIRE(f);
  }
  REQUIRE(::chmod(target.c_str(), 0600) == 0);
  ListenAddress addr{ListenAddress::Kind::kUnix, std::string(dir) + "/www.sock", "", 0};
  ListenOptions opt;
  opt.mode = 0666;
  // Ourselves as owner and group: allowed without privileges, and it makes
  // Listen() change the owner of what it believes is the socket.
  ::passwd* pw = ::getpwuid(::geteuid());
  REQUIRE(pw != nullptr);
  opt.owner = pw->pw_name;
  // The race an attacker with write access to the directory would win:
  // the socket replaced by a symlink between bind() and chmod/chown.
  SetAfterBindHookForTesting([&](const std::string& path) {
    REQUIRE(::unlink(path.c_str()) == 0);
    REQUIRE(::symlink(target.c_str(), path.c_str()) == 0);
  });
  auto fd = Listen(addr, opt);
  SetAfterBindHookForTesting(nullptr);
  REQUIRE_FALSE(fd.ok());
  CHECK(fd.status().message().find("replaced after bind") != std::string::npos);
  struct stat st;
  REQUIRE(::stat(target.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // not opened up to 0666 through the link
  ::unlink(addr.path.c_str());
  ::unlink(target.c_str());
  ::rmdir(dir);
}

TEST_CASE("a unix socket gets its mode from the umask around bind, without chmod") {
  char dir[] = "/tmp/tfpm-socket-mode-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  ListenAddress addr{ListenAddress::Kind::kUnix, std::string(dir) + "/m.sock", "", 0};
  for (uint32_t mode : {0600u, 0660u, 0666u, 0640u}) {
    CAPTURE(mode);
    ListenOptions opt;
    opt.mode = mode;
    auto fd = Listen(addr, opt);
    REQUIRE(fd.ok());
    struct stat st;
    REQUIRE(::stat(addr.path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == mode);
    ::unlink(addr.path.c_str());
  }
  ::rmdir(dir);
}

}  // namespace
}  // namespace tfpm::os
