#include "os/thread_cwd.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "support/temp_dir.h"

namespace tfpm::os {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string Cwd() {
  char buf[4096];
  return ::getcwd(buf, sizeof(buf)) != nullptr ? std::string(buf) : std::string();
}

TEST_CASE("OwnWorkingDirectory: a thread's chdir no longer moves the process's cwd") {
  TempDir t;
  fs::create_directories(t.dir / "a");
  const std::string before = Cwd();
  REQUIRE_FALSE(before.empty());
  std::string seen_in_thread;
  bool ok = false;
  std::thread th([&] {
    ok = OwnWorkingDirectory().ok();
    if (!ok) return;
    // The copy starts where the process is.
    seen_in_thread = Cwd();
    if (::chdir((t.dir / "a").c_str()) != 0) return;
    // A relative path now resolves against this thread's directory only.
    ok = fs::exists("../a") && Cwd() == fs::canonical(t.dir / "a").string();
  });
  th.join();
  CHECK(ok);
  CHECK(seen_in_thread == before);
  CHECK(Cwd() == before);
}

TEST_CASE("OwnWorkingDirectory: two threads keep two directories at once") {
  TempDir t;
  fs::create_directories(t.dir / "x");
  fs::create_directories(t.dir / "y");
  std::string got_x, got_y;
  // Both threads chdir, then meet, then read their cwd: without their own
  // copy the second chdir would be what both read.
  std::atomic<int> arrived{0};
  auto body = [&](const fs::path& dir, std::string& got) {
    if (!OwnWorkingDirectory().ok() || ::chdir(dir.c_str()) != 0) return;
    arrived.fetch_add(1);
    while (arrived.load() < 2) std::this_thread::yield();
    got = Cwd();
  };
  std::thread a(body, t.dir / "x", std::ref(got_x));
  std::thread b(body, t.dir / "y", std::ref(got_y));
  a.join();
  b.join();
  CHECK(got_x == fs::canonical(t.dir / "x").string());
  CHECK(got_y == fs::canonical(t.dir / "y").string());
}

TEST_CASE("OwnWorkingDirectory: the umask is the thread's own too") {
  const mode_t outer = ::umask(022);
  mode_t inner_after = 0;
  std::thread th([&] {
    if (!OwnWorkingDirectory().ok()) return;
    ::umask(077);
    inner_after = ::umask(077);
  });
  th.join();
  CHECK(inner_after == 077);
  CHECK(::umask(outer) == 022);  // the process's umask did not move
}

}  // namespace
}  // namespace tfpm::os
