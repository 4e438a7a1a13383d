#include "supervisor/worker_table.h"

#include <doctest/doctest.h>

#include <memory>

#include "supervisor/handover.h"

namespace tfpm::supervisor {
namespace {

Worker& Add(WorkerTable& t, pid_t pid, uint64_t generation, Worker::State state,
            const std::shared_ptr<Listener>& listener) {
  auto w = std::make_unique<Worker>();
  w->pid = pid;
  w->generation = generation;
  w->state = state;
  w->listener = listener;
  Worker& ref = *w;
  t.emplace(pid, std::move(w));
  return ref;
}

TEST_CASE("FindWorker: a slot's pid to its worker; an empty slot or a reaped pid to nothing") {
  WorkerTable t;
  auto l = std::make_shared<Listener>();
  Worker& w = Add(t, 10, 1, Worker::State::kReady, l);
  CHECK(FindWorker(t, 10) == &w);
  CHECK(FindWorker(t, 0) == nullptr);
  CHECK(FindWorker(t, 11) == nullptr);
}

TEST_CASE("ProcessMaxReached: 0 is no limit") {
  WorkerTable t;
  auto l = std::make_shared<Listener>();
  Add(t, 10, 1, Worker::State::kReady, l);
  Add(t, 11, 1, Worker::State::kReady, l);
  CHECK_FALSE(ProcessMaxReached(t, 0));
  CHECK_FALSE(ProcessMaxReached(t, 3));
  CHECK(ProcessMaxReached(t, 2));
  CHECK(ProcessMaxReached(t, 1));
}

TEST_CASE("HandoverTargets: ready workers on the same socket, of the newest generation that has one, not the giver") {
  WorkerTable t;
  auto www = std::make_shared<Listener>();
  auto api = std::make_shared<Listener>();
  const Worker& from = Add(t, 10, 1, Worker::State::kStopping, www);
  const Worker& old_ready = Add(t, 11, 1, Worker::State::kReady, www);
  Add(t, 12, 1, Worker::State::kReady, api);     // another socket
  Add(t, 13, 2, Worker::State::kStarting, www);  // newer but not ready
  // During a reload the newest ready generation is still the old one.
  auto targets = HandoverTargets(t, from);
  REQUIRE(targets.size() == 1);
  CHECK(targets[0] == &old_ready);
  // Once new workers are ready, only they take connections.
  const Worker& new1 = Add(t, 14, 2, Worker::State::kReady, www);
  const Worker& new2 = Add(t, 15, 2, Worker::State::kReady, www);
  targets = HandoverTargets(t, from);
  REQUIRE(targets.size() == 2);
  CHECK(targets[0] == &new1);
  CHECK(targets[1] == &new2);
  // A ready giver does not get its own connection back.
  targets = HandoverTargets(t, new1);
  REQUIRE(targets.size() == 1);
  CHECK(targets[0] == &new2);
  // Nobody on a socket: none.
  auto other = std::make_shared<Listener>();
  Worker lone;
  lone.pid = 99;
  lone.listener = other;
  CHECK(HandoverTargets(t, lone).empty());
}

}  // namespace
}  // namespace tfpm::supervisor
