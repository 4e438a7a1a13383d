#include "scoreboard/histogram.h"

#include <algorithm>

namespace tfpm::scoreboard {
namespace {

// The single writer's increment: a plain load and store, no locked
// instruction on the request path.
void Bump(std::atomic<uint64_t>& c, uint64_t by) {
  c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

uint64_t Load(const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); }

}  // namespace

size_t BucketOf(int64_t us) {
  const int64_t* end = kBucketBoundsUs + (kBucketCount - 1);
  return static_cast<size_t>(std::lower_bound(kBucketBoundsUs, end, std::max<int64_t>(us, 0)) - kBucketBoundsUs);
}

StatusClass ClassOf(int status) {
  if (status < 100 || status > 599) return StatusClass::kOther;
  return static_cast<StatusClass>(status / 100 - 1);
}

void Histogram::Observe(int64_t us) {
  const int64_t v = std::max<int64_t>(us, 0);
  Bump(buckets[BucketOf(v)], 1);
  Bump(sum_us, static_cast<uint64_t>(v));
}

void RequestStats::Record(int64_t duration_us, int64_t wait_us, int http_status) {
  duration.Observe(duration_us);
  wait.Observe(wait_us);
  Bump(status[static_cast<size_t>(ClassOf(http_status))], 1);
}

void HistogramTotals::Add(const Histogram& h) {
  for (size_t i = 0; i < kBucketCount; ++i) buckets[i] = SaturatingAdd(buckets[i], Load(h.buckets[i]));
  sum_us = SaturatingAdd(sum_us, Load(h.sum_us));
}

void HistogramTotals::Add(const HistogramTotals& t) {
  for (size_t i = 0; i < kBucketCount; ++i) buckets[i] = SaturatingAdd(buckets[i], t.buckets[i]);
  sum_us = SaturatingAdd(sum_us, t.sum_us);
}

uint64_t HistogramTotals::Cumulative(size_t i) const {
  uint64_t n = 0;
  for (size_t b = 0; b <= i && b < kBucketCount; ++b) n = SaturatingAdd(n, buckets[b]);
  return n;
}

void RequestTotals::Add(const RequestStats& s) {
  duration.Add(s.duration);
  wait.Add(s.wait);
  for (size_t i = 0; i < kStatusClassCount; ++i) status[i] = SaturatingAdd(status[i], Load(s.status[i]));
}

void RequestTotals::Add(const RequestTotals& t) {
  duration.Add(t.duration);
  wait.Add(t.wait);
  for (size_t i = 0; i < kStatusClassCount; ++i) status[i] = SaturatingAdd(status[i], t.status[i]);
}

}  // namespace tfpm::scoreboard
