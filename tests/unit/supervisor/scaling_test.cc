// pm dynamic/ondemand process scaling (supervisor/scaling.h): every
// decision, from observed states and a clock value; no process, no sleep.
#include "supervisor/scaling.h"

#include <doctest/doctest.h>

#include <vector>

#include "scoreboard/scoreboard.h"

namespace tfpm::supervisor {
namespace {

using std::chrono::milliseconds;
using Action = ScaleDecision::Action;
using Process = ScaleObservation::Process;

const os::TimePoint t0 = os::TimePoint{} + std::chrono::hours(1);

config::PoolConfig Pool(config::ProcessManager pm, int processes = 4, int threads = 4, int min_spare = 1) {
  config::PoolConfig pc;
  pc.name = "www";
  pc.pm = pm;
  pc.processes = processes;
  pc.threads = threads;
  pc.min_spare_threads = min_spare;
  pc.idle_timeout = milliseconds(10000);
  return pc;
}

Process Proc(int slot, int started_s, uint32_t busy, uint32_t max = 4) {
  return Process{slot, t0 + std::chrono::seconds(started_s), ThreadCounts{max, max, busy}};
}

ScaleObservation Seen(std::vector<Process> serving, std::optional<int> free_slot, os::TimePoint now = t0) {
  ScaleObservation s;
  s.serving = std::move(serving);
  s.free_slot = free_slot;
  s.now = now;
  return s;
}

const auto kDynamic = config::ProcessManager::kDynamic;
const auto kOndemand = config::ProcessManager::kOndemand;

TEST_CASE("scaling: a static pool is never scaled, however full") {
  const auto d = DecideScaling(Pool(config::ProcessManager::kStatic), Seen({Proc(0, 0, 4)}, 1));
  CHECK(d.action == Action::kNothing);
}

TEST_CASE("scaling: every process full and a free slot starts one process in that slot") {
  for (auto pm : {kDynamic, kOndemand}) {
    ScaleObservation seen = Seen({Proc(0, 0, 4), Proc(1, 1, 4)}, 2);
    seen.surplus_since = t0 - milliseconds(5);
    const auto d = DecideScaling(Pool(pm), seen);
    CHECK(d.action == Action::kStart);
    CHECK(d.slot == 2);
    CHECK(d.busy == 8);
    CHECK_FALSE(d.surplus_since);  // a start ends any surplus
  }
}

TEST_CASE("scaling: nothing starts while one process is not full") {
  const auto d = DecideScaling(Pool(kDynamic), Seen({Proc(0, 0, 4), Proc(1, 1, 3)}, 2));
  CHECK(d.action == Action::kNothing);
}

TEST_CASE("scaling: nothing starts while a process is starting or a slot waits for its restart") {
  ScaleObservation seen = Seen({Proc(0, 0, 4)}, 1);
  seen.starting = true;
  CHECK(DecideScaling(Pool(kDynamic), seen).action == Action::kNothing);
}

TEST_CASE("scaling: nothing starts when every slot holds a process") {
  CHECK(DecideScaling(Pool(kDynamic, 2), Seen({Proc(0, 0, 4), Proc(1, 1, 4)}, std::nullopt)).action ==
        Action::kNothing);
}

TEST_CASE("scaling: a pool with no serving process (all starting or gone) starts nothing") {
  CHECK(DecideScaling(Pool(kOndemand), Seen({}, 0)).action == Action::kNothing);
}

TEST_CASE("scaling: process_max reached is reported instead of a start, and keeps the surplus clock") {
  ScaleObservation seen = Seen({Proc(0, 0, 4)}, 1);
  seen.process_max_reached = true;
  seen.surplus_since = t0 - milliseconds(7);
  const auto d = DecideScaling(Pool(kDynamic), seen);
  CHECK(d.action == Action::kProcessMaxReached);
  CHECK(d.surplus_since == t0 - milliseconds(7));
  // process_max alone, without a full pool, reports nothing.
  seen.serving = {Proc(0, 0, 1)};
  CHECK(DecideScaling(Pool(kDynamic), seen).action == Action::kNothing);
}

TEST_CASE("scaling: the newest process is drained after idle_timeout of surplus, not before") {
  const auto pc = Pool(kDynamic);
  // Newest (started at 5 s) listed first: the decision orders by start.
  std::vector<Process> procs = {Proc(3, 5, 0), Proc(0, 0, 1), Proc(1, 2, 1)};
  ScaleObservation seen = Seen(procs, 2);
  auto d = DecideScaling(pc, seen);
  CHECK(d.action == Action::kNothing);
  REQUIRE(d.surplus_since == t0);  // surplus starts now
  seen.surplus_since = d.surplus_since;
  seen.now = t0 + pc.idle_timeout - milliseconds(1);
  d = DecideScaling(pc, seen);
  CHECK(d.action == Action::kNothing);
  CHECK(d.surplus_since == t0);
  seen.now = t0 + pc.idle_timeout;
  d = DecideScaling(pc, seen);
  CHECK(d.action == Action::kStop);
  CHECK(d.slot == 3);
  CHECK(d.busy == 2);
  CHECK_FALSE(d.surplus_since);  // the next one is timed afresh
}

TEST_CASE("scaling: a break in the surplus resets its clock") {
  const auto pc = Pool(kDynamic);
  ScaleObservation seen = Seen({Proc(0, 0, 2), Proc(1, 1, 0)}, 2, t0 + milliseconds(9000));
  seen.surplus_since = t0;
  // 4 busy + 1 spare > 4 threads in the others: not surplus any more.
  seen.serving[1].threads.busy = 2;
  auto d = DecideScaling(pc, seen);
  CHECK(d.action == Action::kNothing);
  CHECK_FALSE(d.surplus_since);
}

TEST_CASE("scaling: dynamic keeps min_spare_threads spare in the others; ondemand keeps one") {
  // Two processes of 4 threads; 3 busy: the other one could carry them
  // with 1 spare, not with 2.
  const std::vector<Process> procs = {Proc(0, 0, 3), Proc(1, 1, 0)};
  ScaleObservation seen = Seen(procs, 2);
  CHECK(DecideScaling(Pool(kDynamic, 4, 4, 1), seen).surplus_since == t0);
  CHECK_FALSE(DecideScaling(Pool(kDynamic, 4, 4, 2), seen).surplus_since);
  CHECK(DecideScaling(Pool(kOndemand, 4, 4, 3), seen).surplus_since == t0);  // min_spare ignored
  // ondemand: a load that exactly fills the others is not surplus (no
  // process coming and going every idle_timeout).
  seen.serving[0].threads.busy = 4;
  CHECK_FALSE(DecideScaling(Pool(kOndemand), seen).surplus_since);
}

TEST_CASE("scaling: the last serving process is never drained, nor one while another starts") {
  const auto pc = Pool(kOndemand);
  ScaleObservation seen = Seen({Proc(0, 0, 0)}, 1, t0 + milliseconds(60000));
  seen.surplus_since = t0;
  CHECK(DecideScaling(pc, seen).action == Action::kNothing);
  CHECK_FALSE(DecideScaling(pc, seen).surplus_since);
  seen.serving.push_back(Proc(1, 1, 0));
  seen.starting = true;
  CHECK(DecideScaling(pc, seen).action == Action::kNothing);
  CHECK_FALSE(DecideScaling(pc, seen).surplus_since);
  seen.starting = false;
  CHECK(DecideScaling(pc, seen).action == Action::kStop);
}

TEST_CASE("scaling: a process whose scoreboard is invalid (no threads) is never full") {
  const auto d = DecideScaling(Pool(kDynamic), Seen({Proc(0, 0, 0, 0)}, 1));
  CHECK(d.action == Action::kNothing);
}

TEST_CASE("scaling: threads counted from a scoreboard: Stopped is no thread, Running is busy") {
  std::vector<char> mem(scoreboard::SegmentSize(5));
  scoreboard::Segment seg(mem.data(), mem.size());
  seg.Initialize(5, 42, 0);
  const scoreboard::ThreadState states[] = {scoreboard::ThreadState::kRunning, scoreboard::ThreadState::kIdle,
                                            scoreboard::ThreadState::kStopped, scoreboard::ThreadState::kRunning,
                                            scoreboard::ThreadState::kStarting};
  for (uint32_t t = 0; t < 5; ++t) seg.slot(t)->state.store(static_cast<uint32_t>(states[t]));
  const ThreadCounts c = CountProcessThreads(mem.data(), mem.size());
  CHECK(c.max == 5);
  CHECK(c.running == 4);
  CHECK(c.busy == 2);
  CHECK_FALSE(c.full());
  // Not a segment: no threads.
  std::vector<char> junk(64, 'x');
  CHECK(CountProcessThreads(junk.data(), junk.size()).max == 0);
}

TEST_CASE("scaling: a new generation starts with the processes the old one runs, within its limits") {
  CHECK(InitialProcesses(Pool(config::ProcessManager::kStatic, 3)) == 3);
  CHECK(InitialProcesses(Pool(kDynamic, 3)) == 1);
  CHECK(ProcessesForNewGeneration(Pool(kDynamic, 4), std::nullopt) == 1);  // a new pool
  CHECK(ProcessesForNewGeneration(Pool(kDynamic, 4), 0) == 1);
  CHECK(ProcessesForNewGeneration(Pool(kDynamic, 4), 3) == 3);
  CHECK(ProcessesForNewGeneration(Pool(kOndemand, 2), 3) == 2);  // processes lowered by the reload
  CHECK(ProcessesForNewGeneration(Pool(config::ProcessManager::kStatic, 2), 5) == 2);
}

}  // namespace
}  // namespace tfpm::supervisor
