// Each PHP thread's working directory is its own (libphp is built without
// PHP's virtual cwd: tools/lib/php-patches/zts/0001-thread-cwd.patch; the
// thread unshares its cwd in PhpThreadScope). Real ZTS libphp, real threads:
// PHP enters each script's directory for real (php_execute_script), so two
// threads running scripts in two directories at once must not see each
// other's directory, and a script's chdir() must not outlive its request.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>

#include "fakes/memory_exchange.h"
#include "sapi/php_embed.h"
#include "sapi/sapi_test_util.h"

namespace tfpm::sapi {
namespace {

std::string Cwd() {
  char buf[4096];
  return ::getcwd(buf, sizeof(buf)) != nullptr ? std::string(buf) : std::string();
}

// Announces itself, waits (up to 10 s) until the other script runs too, then
// checks its directory 20,000 times, through getcwd() and a relative path
// (a marker file only its own directory has).
constexpr char kWatch[] = R"(<?php
$me = basename(__DIR__); $other = $me === 'x' ? 'y' : 'x';
touch(dirname(__DIR__) . "/running-$me");
$t = microtime(true);
while (!file_exists(dirname(__DIR__) . "/running-$other")) {
  if (microtime(true) - $t > 10) { echo "alone"; return; }
  usleep(100);
}
for ($i = 0; $i < 20000; $i++) {
  $cwd = getcwd();
  if ($cwd !== __DIR__) { echo "cwd moved to $cwd at $i"; return; }
  if (!file_exists("marker-$me")) { echo "relative path resolved elsewhere at $i"; return; }
}
echo "ok";
)";

TEST_CASE("two PHP threads in two script directories at once keep their own cwd") {
  const fs::path root = Rt().dir / "thread-cwd";
  fs::create_directories(root / "x");
  fs::create_directories(root / "y");
  const std::string x = Rt().Script("thread-cwd/x/watch.php", kWatch);
  const std::string y = Rt().Script("thread-cwd/y/watch.php", kWatch);
  Rt().Script("thread-cwd/x/marker-x", "");
  Rt().Script("thread-cwd/y/marker-y", "");
  const std::string process_cwd = Cwd();
  std::string body_x, body_y;
  auto run = [](const std::string& script, std::string& body) {
    PhpThreadScope scope;
    MemoryExchange ex(Base(script));
    ExecuteRequest(ex);
    body = ex.Body();
  };
  std::thread a(run, x, std::ref(body_x));
  std::thread b(run, y, std::ref(body_y));
  a.join();
  b.join();
  CHECK(body_x == "ok");
  CHECK(body_y == "ok");
  CHECK(Cwd() == process_cwd);  // PHP's chdir()s stayed in its threads
}

TEST_CASE("a script's chdir() ends with its request; the thread's next request starts in its own directory") {
  fs::create_directories(Rt().dir / "cwd-next" / "sub");
  const std::string away = Rt().Script("cwd-next/away.php", "<?php chdir(__DIR__ . '/sub'); echo basename(getcwd());");
  const std::string where = Rt().Script("cwd-next/where.php", "<?php echo getcwd() === __DIR__ ? 'home' : getcwd();");
  const std::string fatal = Rt().Script("cwd-next/fatal.php", "<?php chdir(__DIR__ . '/sub'); undefined_function();");
  const std::string process_cwd = Cwd();
  std::string thread_cwd_before, thread_cwd_after;
  std::thread([&] {
    PhpThreadScope scope;
    thread_cwd_before = Cwd();
    MemoryExchange a(Base(away));
    ExecuteRequest(a);
    CHECK(a.Body() == "sub");
    MemoryExchange w(Base(where));
    ExecuteRequest(w);
    CHECK(w.Body() == "home");
    // A fatal error after the chdir() unwinds the script: the same holds.
    MemoryExchange f(Base(fatal));
    ExecuteRequest(f);
    MemoryExchange w2(Base(where));
    ExecuteRequest(w2);
    CHECK(w2.Body() == "home");
    thread_cwd_after = Cwd();
  }).join();
  CHECK(thread_cwd_after == thread_cwd_before);
  CHECK(Cwd() == process_cwd);
}

}  // namespace
}  // namespace tfpm::sapi
