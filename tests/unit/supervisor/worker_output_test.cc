#include "supervisor/worker_output.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "os/fd_io.h"
#include "os/socket.h"

namespace tfpm::supervisor {
namespace {

struct Pipe {
  os::UniqueFd r, w;
  Pipe() {
    auto p = os::Pipe();
    REQUIRE(p.ok());
    r = std::move(p->first);
    w = std::move(p->second);
    REQUIRE(os::SetNonBlocking(r.get(), true).ok());
  }
};

TEST_CASE("ReadWorkerOutput: complete lines are emitted, an unfinished one waits for the rest") {
  Pipe p;
  OutputLines lines;
  std::vector<std::string> got;
  const OutputLines::Sink emit = [&](std::string_view s) { got.emplace_back(s); };
  REQUIRE(os::WriteSome(p.w.get(), "one\ntw").ok());
  OutputRead r = ReadWorkerOutput(p.r.get(), 1 << 16, 100, lines, emit);
  CHECK_FALSE(r.eof);
  CHECK(r.wrapped == 0);
  CHECK(got == std::vector<std::string>{"one"});
  REQUIRE(os::WriteSome(p.w.get(), "o\n").ok());
  r = ReadWorkerOutput(p.r.get(), 1 << 16, 100, lines, emit);
  CHECK(got == std::vector<std::string>{"one", "two"});
  p.w.Reset();
  r = ReadWorkerOutput(p.r.get(), 1 << 16, 100, lines, emit);
  CHECK(r.eof);
}

TEST_CASE("ReadWorkerOutput: a line longer than `room` is emitted in pieces and counted") {
  Pipe p;
  OutputLines lines;
  std::vector<std::string> got;
  const OutputLines::Sink emit = [&](std::string_view s) { got.emplace_back(s); };
  REQUIRE(os::WriteSome(p.w.get(), std::string(25, 'x') + "\n").ok());
  const OutputRead r = ReadWorkerOutput(p.r.get(), 1 << 16, 10, lines, emit);
  CHECK(r.wrapped == 1);
  REQUIRE(got.size() == 3);
  CHECK(got[0] == std::string(10, 'x'));
  CHECK(got[2] == std::string(5, 'x'));
}

TEST_CASE("ReadWorkerOutput: no more than the budget (and one read) per call; the rest stays in the pipe") {
  Pipe p;
  OutputLines lines;
  size_t bytes = 0;
  const OutputLines::Sink emit = [&](std::string_view s) { bytes += s.size() + 1; };
  const std::string line = std::string(99, 'y') + "\n";
  std::string all;
  for (int i = 0; i < 400; ++i) all += line;  // 40000 bytes
  REQUIRE(os::WriteSome(p.w.get(), all).value() == all.size());
  ReadWorkerOutput(p.r.get(), 10000, 200, lines, emit);
  CHECK(bytes >= 10000 - line.size());
  CHECK(bytes < 10000 + 8192);
  const size_t first = bytes;
  ReadWorkerOutput(p.r.get(), 1 << 20, 200, lines, emit);
  CHECK(bytes == all.size());
  CHECK(first < all.size());
}

TEST_CASE("OutputRoom: the limit less the reserved bytes and the newline, at least 1") {
  CHECK(OutputRoom(1024, 100) == 923);
  CHECK(OutputRoom(101, 100) == 1);
  CHECK(OutputRoom(50, 100) == 1);
}

}  // namespace
}  // namespace tfpm::supervisor
