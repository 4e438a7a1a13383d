#include "worker/process_recycler.h"

#include <doctest/doctest.h>

#include <set>

namespace tfpm::worker {
namespace {

TEST_CASE("the request threshold lies in [N, N + N/4] and differs between processes") {
  CHECK(StaggeredThreshold(0, 123) == 0);
  std::set<uint64_t> seen;
  for (uint64_t pid = 1000; pid < 1100; ++pid) {
    const uint64_t t = StaggeredThreshold(400, pid);
    CHECK(t >= 400);
    CHECK(t <= 500);
    seen.insert(t);
  }
  // 100 processes over 101 possible thresholds: far from all the same.
  CHECK(seen.size() > 30);
  // The same seed, the same threshold (a process keeps its own).
  CHECK(StaggeredThreshold(400, 4242) == StaggeredThreshold(400, 4242));
  // Small N: no spread below 4, never below N.
  CHECK(StaggeredThreshold(1, 7) == 1);
  CHECK(StaggeredThreshold(3, 99) == 3);
  // No overflow at the top.
  CHECK(StaggeredThreshold(UINT64_MAX, 5) == UINT64_MAX);
}

TEST_CASE("max_requests: due at the process's threshold, not before") {
  ProcessRecycler r({.max_requests = 100, .memory_limit = 0}, 77);
  REQUIRE(r.enabled());
  CHECK_FALSE(r.watches_memory());
  const uint64_t t = r.request_threshold();
  CHECK(r.Check(0, t - 1, std::nullopt) == RecycleCause::kNone);
  CHECK(r.cause() == RecycleCause::kNone);
  CHECK(r.Check(10, t, std::nullopt) == RecycleCause::kMaxRequests);
  CHECK(r.cause() == RecycleCause::kMaxRequests);
}

TEST_CASE("a due recycle is sent once, then again every kResendMs until the process drains") {
  ProcessRecycler r({.max_requests = 10, .memory_limit = 0}, 1);
  const uint64_t t = r.request_threshold();
  CHECK(r.Check(1000, t, std::nullopt) == RecycleCause::kMaxRequests);
  CHECK(r.Check(1001, t + 5, std::nullopt) == RecycleCause::kNone);
  CHECK(r.Check(1000 + ProcessRecycler::kResendMs - 1, t + 9, std::nullopt) == RecycleCause::kNone);
  CHECK(r.Check(1000 + ProcessRecycler::kResendMs, t + 9, std::nullopt) == RecycleCause::kMaxRequests);
}

TEST_CASE("memory: RSS over the limit is due; at the limit is not; an unread RSS is not") {
  ProcessRecycler r({.max_requests = 0, .memory_limit = 64 << 20}, 1);
  REQUIRE(r.watches_memory());
  CHECK(r.Check(0, 1'000'000, std::nullopt) == RecycleCause::kNone);
  CHECK(r.Check(0, 1'000'000, uint64_t{64} << 20) == RecycleCause::kNone);
  CHECK(r.Check(0, 1'000'000, (uint64_t{64} << 20) + 1) == RecycleCause::kMemory);
  // The cause stays even if RSS falls again (memory is rarely returned; the
  // replacement is already on its way).
  CHECK(r.Check(5000, 1'000'000, 1) == RecycleCause::kMemory);
}

TEST_CASE("the first cause found is kept") {
  ProcessRecycler r({.max_requests = 10, .memory_limit = 100}, 3);
  CHECK(r.Check(0, 0, 101) == RecycleCause::kMemory);
  CHECK(r.Check(5000, 1000, 101) == RecycleCause::kMemory);
}

TEST_CASE("off: nothing is ever due") {
  ProcessRecycler r({}, 9);
  CHECK_FALSE(r.enabled());
  CHECK(r.request_threshold() == 0);
  CHECK(r.Check(0, UINT64_MAX, UINT64_MAX) == RecycleCause::kNone);
}

TEST_CASE("classic memory_recycle: over the limit only, 0 = off") {
  CHECK_FALSE(InterpreterOverMemory(0, UINT64_MAX));
  CHECK_FALSE(InterpreterOverMemory(32 << 20, 32 << 20));
  CHECK(InterpreterOverMemory(32 << 20, (32 << 20) + 1));
}

TEST_CASE("cause names, as sent to the supervisor") {
  CHECK(RecycleCauseName(RecycleCause::kMaxRequests) == "max_requests");
  CHECK(RecycleCauseName(RecycleCause::kMemory) == "memory");
}

}  // namespace
}  // namespace tfpm::worker
