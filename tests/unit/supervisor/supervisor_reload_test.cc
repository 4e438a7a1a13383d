// The Supervisor driven end to end through reloads without a process: a
// FakeSpawner stands for the workers (the test writes "ready" on their
// notify sockets and ends them), a FakeClock for time, and signals are
// raised at the test's own thread, which the supervisor's signalfd reads.
// Real: the event loop, the listening and control sockets (in a temporary
// directory), the scoreboards.
#include <doctest/doctest.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "unit/supervisor/supervisor_harness.h"

namespace tfpm::supervisor {
namespace {

using std::chrono::milliseconds;
using test::Harness;
namespace wc = ipc;

TEST_CASE("supervisor reload: the new generation starts, passes probation, and only then the old one drains") {
  Harness h;
  const auto old = h.StartReady(h.Yaml(2));
  REQUIRE(old.size() == 2);
  h.next_text = h.Yaml(2);
  h.Signal(SIGUSR2);
  const auto fresh = h.SpawnedSince(2);
  REQUIRE(fresh.size() == 2);
  CHECK(h.Notified("RELOADING=1"));
  h.Ready(fresh[0]);
  h.Ready(fresh[1]);
  h.Advance(milliseconds(999));
  CHECK_FALSE(h.Got(old[0], SIGQUIT));  // still on probation: the old generation serves
  h.Advance(milliseconds(1));
  CHECK(h.Got(old[0], SIGQUIT));
  CHECK(h.Got(old[1], SIGQUIT));
  CHECK(h.spawner.child(fresh[0]).signals.empty());
  CHECK(h.Notified("READY=1\nSTATUS=serving"));
}

TEST_CASE("supervisor reload: a refused config changes nothing") {
  Harness h;
  const auto old = h.StartReady(h.Yaml(2));
  h.next_text = "pools:\n  www:\n    processes: 0\n";  // no listen, processes < 1
  h.Signal(SIGUSR2);
  CHECK(h.SpawnedSince(2).empty());
  CHECK_FALSE(h.Notified("RELOADING=1"));
  CHECK(h.spawner.child(old[0]).signals.empty());
  // And the next good one goes through.
  h.next_text = h.Yaml(1);
  h.Signal(SIGUSR2);
  CHECK(h.SpawnedSince(2).size() == 1);
}

TEST_CASE("supervisor reload: a new worker failing before ready rolls back; the old generation keeps serving") {
  Harness h;
  const auto old = h.StartReady(h.Yaml(2));
  h.next_text = h.Yaml(2);
  h.Signal(SIGUSR2);
  const auto fresh = h.SpawnedSince(2);
  REQUIRE(fresh.size() == 2);
  h.Ready(fresh[0]);
  h.Exit(fresh[1], 255);  // e.g. MINIT failed
  CHECK(h.Got(fresh[0], SIGTERM));  // the rest of the new generation is stopped
  CHECK(h.spawner.child(old[0]).signals.empty());
  CHECK(h.spawner.child(old[1]).signals.empty());
  CHECK(h.Notified("serving (reload failed)"));
  // Probation over for nobody: nothing drains the old workers later either.
  h.Advance(milliseconds(5000));
  CHECK(h.spawner.child(old[0]).signals.empty());
  CHECK(h.SpawnedSince(4).empty());
}

TEST_CASE("supervisor reload: a new worker dying during its probation rolls back") {
  Harness h;
  const auto old = h.StartReady(h.Yaml(1));
  h.next_text = h.Yaml(1);
  h.Signal(SIGUSR2);
  const auto fresh = h.SpawnedSince(1);
  REQUIRE(fresh.size() == 1);
  h.Ready(fresh[0]);
  h.Advance(milliseconds(70));
  h.Exit(fresh[0], 0, SIGSEGV);
  CHECK(h.Notified("serving (reload failed)"));
  h.Advance(milliseconds(2000));
  CHECK(h.spawner.child(old[0]).signals.empty());
}

TEST_CASE("supervisor reload: a generation not ready within 60 s is rolled back") {
  Harness h;
  const auto old = h.StartReady(h.Yaml(1));
  h.next_text = h.Yaml(1);
  h.Signal(SIGUSR2);
  const auto fresh = h.SpawnedSince(1);
  REQUIRE(fresh.size() == 1);
  h.Advance(milliseconds(59999));
  CHECK_FALSE(h.Got(fresh[0], SIGTERM));
  h.Advance(milliseconds(1));
  CHECK(h.Got(fresh[0], SIGTERM));
  CHECK(h.spawner.child(old[0]).signals.empty());
}

TEST_CASE("supervisor reload: SIGUSR2 during a reload is queued and runs after the commit") {
  Harness h;
  const auto old = h.StartReady(h.Yaml(1));
  h.next_text = h.Yaml(1);
  h.Signal(SIGUSR2);
  h.Signal(SIGUSR2);  // during the first
  const auto second = h.SpawnedSince(1);
  REQUIRE(second.size() == 1);  // not a second generation at once
  h.Ready(second[0]);
  h.Advance(milliseconds(1000));
  CHECK(h.Got(old[0], SIGQUIT));
  const auto third = h.SpawnedSince(2);
  REQUIRE(third.size() == 1);  // the queued reload began at the commit
  h.Ready(third[0]);
  h.Advance(milliseconds(1000));
  CHECK(h.Got(second[0], SIGQUIT));
}

TEST_CASE("supervisor reload: an old worker crashing during its drain is not restarted") {
  Harness h;
  const auto old = h.StartReady(h.Yaml(1));
  h.next_text = h.Yaml(1);
  h.Signal(SIGUSR2);
  const auto fresh = h.SpawnedSince(1);
  REQUIRE(fresh.size() == 1);
  h.Ready(fresh[0]);
  h.Advance(milliseconds(1000));
  REQUIRE(h.Got(old[0], SIGQUIT));
  h.Exit(old[0], 0, SIGSEGV);
  h.Advance(milliseconds(60000));
  CHECK(h.SpawnedSince(2).empty());  // no replacement: the new generation serves
  CHECK(h.spawner.child(fresh[0]).signals.empty());
}

TEST_CASE("supervisor reload: an old worker whose slot a reload removed exits without harm") {
  // processes 2 -> 1: the old worker of slot 1 has no slot in the new pool.
  // Its exit indexed the new pool's slots with 1 (out of bounds; ASan:
  // heap-buffer-overflow in ReapChildren).
  Harness h;
  const auto old = h.StartReady(h.Yaml(2));
  h.next_text = h.Yaml(1);
  h.Signal(SIGUSR2);
  const auto fresh = h.SpawnedSince(2);
  REQUIRE(fresh.size() == 1);
  h.Ready(fresh[0]);
  h.Advance(milliseconds(1000));
  REQUIRE(h.Got(old[1], SIGQUIT));
  h.Exit(old[1], 0);
  h.Exit(old[0], 0);
  h.Advance(milliseconds(60000));
  CHECK(h.SpawnedSince(3).empty());  // nothing replaces them
  CHECK(h.spawner.child(fresh[0]).signals.empty());
}

TEST_CASE("supervisor: a notify line that only contains \"ready\" is not \"ready\"") {
  Harness h;
  h.Start(h.Yaml(1));
  const int fd = h.spawner.ChildFd(h.spawner.spawned().at(0), wc::kNotifyFd);
  REQUIRE(fd >= 0);
  // The old matching (find("ready") in each receive) took this for "ready".
  REQUIRE(::write(fd, "not ready\n", 10) == 10);
  h.Turn();
  h.Advance(milliseconds(1500));  // past startup_probation
  CHECK(h.ready.empty());
  REQUIRE(::write(fd, "ready\n", 6) == 6);
  h.Turn();
  h.Advance(milliseconds(1500));
  REQUIRE(h.ready.size() == 1);
  CHECK(h.ready[0].ok());
}

TEST_CASE("supervisor: a notify line split across two receives still counts") {
  Harness h;
  h.Start(h.Yaml(1));
  const int fd = h.spawner.ChildFd(h.spawner.spawned().at(0), wc::kNotifyFd);
  REQUIRE(fd >= 0);
  // The old matching lost a line split between two receives.
  REQUIRE(::write(fd, "rea", 3) == 3);
  h.Turn();
  REQUIRE(::write(fd, "dy\n", 3) == 3);
  h.Turn();
  h.Advance(milliseconds(1500));  // past startup_probation
  REQUIRE(h.ready.size() == 1);
  CHECK(h.ready[0].ok());
}

TEST_CASE("supervisor: the first generation failing its start reports and stops instead of looping") {
  Harness h;
  h.Start(h.Yaml(1));
  const pid_t first = h.spawner.spawned().at(0);
  h.Exit(first, 255);
  REQUIRE(h.ready.size() == 1);
  CHECK_FALSE(h.ready[0].ok());
  CHECK(h.spawner.spawned().size() == 1);  // not restarted
}

}  // namespace
}  // namespace tfpm::supervisor
