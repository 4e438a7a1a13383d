// The graceful stop's drain_delay, end to end through the Supervisor with a
// fake clock and fake workers (supervisor_harness.h).
#include <csignal>

#include "supervisor_harness.h"

namespace tfpm::supervisor::test {
namespace {

std::string DelayedYaml(const Harness& h, const std::string& delay) {
  return "daemon:\n  control_socket: " + h.dir() + "/ctl.sock\n  startup_probation: 1s\n  drain_delay: " + delay +
         "\npools:\n  www:\n    listen: " + h.dir() + "/www.sock\n    processes: 2\n    threads: 1\n";
}

TEST_CASE("supervisor stop: SIGQUIT drains the workers only after drain_delay, serving until then") {
  Harness h;
  const auto first = h.StartReady(DelayedYaml(h, "2s"));
  h.Signal(SIGQUIT);
  CHECK(h.Notified("STOPPING=1"));
  CHECK_FALSE(h.Got(first[0], SIGQUIT));
  CHECK_FALSE(h.Got(first[1], SIGQUIT));
  // A worker that dies meanwhile is replaced: the host still serves.
  h.Exit(first[1], 0, SIGKILL);
  h.Advance(milliseconds(100));
  const auto replaced = h.SpawnedSince(2);
  REQUIRE(replaced.size() == 1);
  h.Ready(replaced[0]);
  h.Advance(milliseconds(1899));
  CHECK_FALSE(h.Got(first[0], SIGQUIT));
  h.Advance(milliseconds(1));
  CHECK(h.Got(first[0], SIGQUIT));
  CHECK(h.Got(replaced[0], SIGQUIT));
}

TEST_CASE("supervisor stop: a second SIGQUIT during drain_delay drains at once, SIGTERM stops at once") {
  SUBCASE("SIGQUIT twice") {
    Harness h;
    const auto first = h.StartReady(DelayedYaml(h, "30s"));
    h.Signal(SIGQUIT);
    CHECK_FALSE(h.Got(first[0], SIGQUIT));
    h.Signal(SIGQUIT);
    CHECK(h.Got(first[0], SIGQUIT));
    CHECK(h.Got(first[1], SIGQUIT));
  }
  SUBCASE("SIGQUIT, then SIGTERM") {
    Harness h;
    const auto first = h.StartReady(DelayedYaml(h, "30s"));
    h.Signal(SIGQUIT);
    h.Signal(SIGTERM);
    CHECK(h.Got(first[0], SIGTERM));
    CHECK_FALSE(h.Got(first[0], SIGQUIT));
    // The delay no longer runs: nothing is sent when it would have ended.
    h.Advance(milliseconds(30000));
    CHECK_FALSE(h.Got(first[0], SIGQUIT));
  }
}

TEST_CASE("supervisor stop: no reload during drain_delay") {
  Harness h;
  const auto first = h.StartReady(DelayedYaml(h, "5s"));
  h.next_text = DelayedYaml(h, "5s");
  h.Signal(SIGQUIT);
  h.Signal(SIGUSR2);
  h.Advance(milliseconds(1000));
  CHECK(h.SpawnedSince(first.size()).empty());
  CHECK_FALSE(h.Notified("RELOADING=1"));
}

TEST_CASE("supervisor stop: without drain_delay SIGQUIT drains at once (php-fpm)") {
  Harness h;
  const auto first = h.StartReady(DelayedYaml(h, "0s"));
  h.Signal(SIGQUIT);
  CHECK(h.Got(first[0], SIGQUIT));
  CHECK(h.Got(first[1], SIGQUIT));
}

}  // namespace
}  // namespace tfpm::supervisor::test
