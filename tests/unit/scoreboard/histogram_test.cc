#include "scoreboard/histogram.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "scoreboard/scoreboard.h"

namespace tfpm::scoreboard {
namespace {

struct Board {
  explicit Board(uint32_t threads) : mem(SegmentSize(threads)) { seg().Initialize(threads, 1, 0); }
  Segment seg() { return Segment(mem.data(), mem.size()); }
  SlotWriter writer(uint32_t t) { return SlotWriter(seg().slot(t)); }
  std::vector<char> mem;
};

// One request on `w`: begins at 0 after waiting `wait_us`, ends after `us`.
void Serve(SlotWriter w, int64_t us, int64_t wait_us, int status) {
  SlotWriter::Request r;
  r.wait_us = wait_us;
  w.BeginRequest(1'000'000, 0, r);
  w.EndRequest(1'000'000 + us, 0, status, 0, "");
}

}  // namespace

TEST_CASE("an observation falls in the first bucket whose bound is at least it") {
  CHECK(BucketOf(0) == 0);
  CHECK(BucketOf(1'000) == 0);   // le="0.001" is inclusive
  CHECK(BucketOf(1'001) == 1);
  CHECK(BucketOf(2'500) == 1);
  CHECK(BucketOf(20'000) == 4);   // 20 ms: le="0.025"
  CHECK(BucketOf(120'000) == 7);  // 120 ms: le="0.25"
  CHECK(BucketOf(600'000) == 9);  // 600 ms: le="1.0"
  CHECK(BucketOf(30'000'000) == 13);
  CHECK(BucketOf(30'000'001) == 14);  // +Inf
  CHECK(BucketOf(std::numeric_limits<int64_t>::max()) == 14);
  CHECK(BucketOf(-5) == 0);  // a clock step backwards
  for (size_t i = 0; i + 1 < kBucketCount; ++i) {
    CAPTURE(i);
    CHECK(BucketOf(kBucketBoundsUs[i]) == i);
    CHECK(BucketOf(kBucketBoundsUs[i] + 1) == i + 1);
  }
  CHECK(kBucketLabels[kBucketCount - 1] == "+Inf");
}

TEST_CASE("status classes") {
  CHECK(ClassOf(100) == StatusClass::k1xx);
  CHECK(ClassOf(200) == StatusClass::k2xx);
  CHECK(ClassOf(302) == StatusClass::k3xx);
  CHECK(ClassOf(404) == StatusClass::k4xx);
  CHECK(ClassOf(599) == StatusClass::k5xx);
  for (int s : {0, -1, 99, 600, 1000}) {
    CAPTURE(s);
    CHECK(ClassOf(s) == StatusClass::kOther);
  }
}

TEST_CASE("a finished request is counted in its slot: duration, queue wait and status class") {
  Board b(2);
  Serve(b.writer(0), 20'000, 500, 200);
  Serve(b.writer(0), 600'000, 3'000, 404);
  Serve(b.writer(1), 120'000, 0, 503);
  // A request still running is not counted yet.
  SlotWriter::Request r;
  r.wait_us = 7;
  b.writer(1).BeginRequest(5'000'000, 0, r);

  RequestTotals t;
  for (uint32_t i = 0; i < 2; ++i) t.Add(b.seg().slot(i)->stats);
  CHECK(t.duration.Count() == 3);
  CHECK(t.duration.buckets[4] == 1);  // 20 ms
  CHECK(t.duration.buckets[7] == 1);  // 120 ms
  CHECK(t.duration.buckets[9] == 1);  // 600 ms
  CHECK(t.duration.sum_us == 740'000);
  CHECK(t.duration.Cumulative(3) == 0);
  CHECK(t.duration.Cumulative(4) == 1);
  CHECK(t.duration.Cumulative(8) == 2);
  CHECK(t.duration.Cumulative(9) == 3);
  CHECK(t.wait.Count() == 3);
  CHECK(t.wait.buckets[0] == 2);  // 0 and 0.5 ms
  CHECK(t.wait.buckets[2] == 1);  // 3 ms: le="0.005"
  CHECK(t.wait.sum_us == 3'500);
  CHECK(t.status[static_cast<size_t>(StatusClass::k2xx)] == 1);
  CHECK(t.status[static_cast<size_t>(StatusClass::k4xx)] == 1);
  CHECK(t.status[static_cast<size_t>(StatusClass::k5xx)] == 1);
  CHECK(t.status[static_cast<size_t>(StatusClass::k3xx)] == 0);

  b.writer(1).EndRequest(5'000'100, 0, 200, 0, "");
  RequestTotals after;
  for (uint32_t i = 0; i < 2; ++i) after.Add(b.seg().slot(i)->stats);
  CHECK(after.duration.Count() == 4);
  CHECK(after.wait.sum_us == 3'507);
}

TEST_CASE("totals of a hostile segment saturate instead of wrapping") {
  Board b(2);
  for (uint32_t i = 0; i < 2; ++i) {
    Histogram& h = b.seg().slot(i)->stats.duration;
    h.buckets[0].store(std::numeric_limits<uint64_t>::max() - 1, std::memory_order_relaxed);
    h.buckets[14].store(5, std::memory_order_relaxed);
    h.sum_us.store(std::numeric_limits<uint64_t>::max(), std::memory_order_relaxed);
  }
  RequestTotals t;
  for (uint32_t i = 0; i < 2; ++i) t.Add(b.seg().slot(i)->stats);
  CHECK(t.duration.buckets[0] == std::numeric_limits<uint64_t>::max());
  CHECK(t.duration.sum_us == std::numeric_limits<uint64_t>::max());
  CHECK(t.duration.Count() == std::numeric_limits<uint64_t>::max());
  for (size_t i = 1; i < kBucketCount; ++i) CHECK(t.duration.Cumulative(i) >= t.duration.Cumulative(i - 1));
}

}  // namespace tfpm::scoreboard
