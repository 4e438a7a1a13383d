#include "os/process_memory.h"

#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <cstring>
#include <vector>

namespace tfpm::os {
namespace {

Result<uint64_t> Parse(const char* s, uint64_t page = 4096) { return ParseStatmResident(s, std::strlen(s), page); }

TEST_CASE("statm: the second field in pages") {
  auto r = Parse("12345 678 90 1 0 200 0\n");
  REQUIRE(r.ok());
  CHECK(*r == 678u * 4096u);
  CHECK(Parse("1 2", 65536).value() == 2u * 65536u);
}

TEST_CASE("statm: malformed text is an error, not a number") {
  CHECK_FALSE(Parse("").ok());
  CHECK_FALSE(Parse("12345").ok());
  CHECK_FALSE(Parse("12345 ").ok());
  CHECK_FALSE(Parse("x 1").ok());
  CHECK_FALSE(Parse("1 x").ok());
  CHECK_FALSE(Parse("1 99999999999999999999").ok());
  CHECK_FALSE(Parse("1 18446744073709551615").ok());  // times the page size overflows
}

TEST_CASE("this process: RSS grows with memory it touches") {
  auto rm = ResidentMemory::Open();
  REQUIRE(rm.ok());
  auto before = rm->Read();
  REQUIRE(before.ok());
  CHECK(*before > 0);
  std::vector<char> block(64 << 20);
  std::memset(block.data(), 1, block.size());
  auto after = rm->Read();
  REQUIRE(after.ok());
  CHECK(*after >= *before + (32u << 20));
  CHECK(block[12345] == 1);
}

TEST_CASE("another process's RSS by pid (pm-ctl top); a pid that does not exist is an error naming the file") {
  auto self = ResidentBytesOf(static_cast<int>(::getpid()));
  REQUIRE(self.ok());
  CHECK(*self > 0);
  // A child that has exited and been reaped: its pid is free.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  REQUIRE(::waitpid(child, nullptr, 0) == child);
  auto gone = ResidentBytesOf(static_cast<int>(child));
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.status().message().find("/proc/" + std::to_string(child) + "/statm") != std::string::npos);
}

}  // namespace
}  // namespace tfpm::os
