// ReadSlot against a writer that holds a slot in the middle of an update
// (its sequence odd), as one preempted there does.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "scoreboard/scoreboard.h"

namespace tfpm::scoreboard {
namespace {

std::unique_ptr<ThreadSlot> IdleSlot() {
  auto slot = std::make_unique<ThreadSlot>();
  std::memset(static_cast<void*>(slot.get()), 0, sizeof(ThreadSlot));
  SlotWriter(slot.get()).SetState(ThreadState::kIdle);
  return slot;
}

TEST_CASE("ReadSlot waits out a writer that holds the slot for a millisecond") {
  auto slot = IdleSlot();
  std::atomic<bool> reading{false};
  slot->seq.fetch_add(1);  // an update begins
  std::thread writer([&] {
    while (!reading.load()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    slot->requests = 42;
    slot->seq.fetch_add(1);  // and ends
  });
  reading.store(true);
  ThreadSnapshot snap;
  const bool ok = ReadSlot(*slot, &snap);
  writer.join();
  // 100 bare retries (the old reader) gave up long before the writer ended.
  REQUIRE(ok);
  CHECK(snap.requests == 42);
  CHECK(snap.state == ThreadState::kIdle);
}

TEST_CASE("ReadSlot gives up on a slot that is never released") {
  auto slot = IdleSlot();
  slot->seq.fetch_add(1);  // a stuck or hostile writer
  ThreadSnapshot snap;
  CHECK_FALSE(ReadSlot(*slot, &snap));
  slot->seq.fetch_add(1);
  CHECK(ReadSlot(*slot, &snap));
}

}  // namespace
}  // namespace tfpm::scoreboard
