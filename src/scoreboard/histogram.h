// Request metrics of one PHP thread, kept in its scoreboard slot: how long
// requests took (request duration), how long they waited before PHP began
// (queue wait), and how many ended in each HTTP status class. The reader
// (the supervisor) sums them over the pool's threads and processes, and
// carries the totals of exited processes in PoolCounters, so the pool's
// histograms survive worker replacement and reloads as its other counters
// do.
//
// No lock on the request path: each RequestStats has exactly one writer,
// the PHP thread that owns the slot, which updates its counters with
// relaxed atomic loads and stores (no read-modify-write is needed with one
// writer). A reader may see a request counted in one histogram and not yet
// in the other; each counter on its own only grows.
//
// The segment is writable by the worker and the PHP code it runs: a reader
// takes every value as an untrusted number (unsigned arithmetic, sums that
// saturate), and a histogram rendered from the totals is always well formed
// (cumulative buckets that never decrease, +Inf equal to the count).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tfpm::scoreboard {

// Upper bounds (inclusive, as Prometheus' `le`) of the finite buckets, in
// microseconds: 1 ms to 30 s, suited to PHP requests. The last bucket,
// +Inf, takes everything above 30 s.
inline constexpr size_t kBucketCount = 15;
inline constexpr int64_t kBucketBoundsUs[kBucketCount - 1] = {
    1'000,   2'500,   5'000,     10'000,    25'000,    50'000,     100'000,
    250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000};
// The `le` label of each bucket, in seconds, in OpenMetrics' canonical
// form (a float: "1.0", not "1").
inline constexpr std::string_view kBucketLabels[kBucketCount] = {
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "30.0", "+Inf"};

// The bucket an observation of `us` microseconds falls in: the first whose
// bound is >= us (a negative value, from a clock step, counts as 0).
size_t BucketOf(int64_t us);

// HTTP status classes; kOther is a status outside 100..599.
enum class StatusClass : uint32_t { k1xx = 0, k2xx, k3xx, k4xx, k5xx, kOther, kCount };
inline constexpr size_t kStatusClassCount = static_cast<size_t>(StatusClass::kCount);
inline constexpr std::string_view kStatusClassNames[kStatusClassCount] = {"1xx", "2xx", "3xx",
                                                                          "4xx", "5xx", "other"};
StatusClass ClassOf(int status);

// Writer side, in shared memory: only the owning thread calls Observe and
// Record.
struct Histogram {
  std::atomic<uint64_t> buckets[kBucketCount];  // not cumulative: one count per bucket
  std::atomic<uint64_t> sum_us;                 // of the observations
  void Observe(int64_t us);
};

struct RequestStats {
  Histogram duration;  // BeginRequest to EndRequest: PHP's run and sending its answer
  Histogram wait;      // arrival of the request to BeginRequest
  std::atomic<uint64_t> status[kStatusClassCount];  // by StatusClass
  // One finished request.
  void Record(int64_t duration_us, int64_t wait_us, int http_status);
};

// Reader side: plain numbers, summed over threads and processes.
struct HistogramTotals {
  uint64_t buckets[kBucketCount] = {};
  uint64_t sum_us = 0;
  void Add(const Histogram& h);
  void Add(const HistogramTotals& t);
  // Bucket i and every one below it (Prometheus' `le` count), saturating.
  uint64_t Cumulative(size_t i) const;
  uint64_t Count() const { return Cumulative(kBucketCount - 1); }
};

struct RequestTotals {
  HistogramTotals duration, wait;
  uint64_t status[kStatusClassCount] = {};
  void Add(const RequestStats& s);
  void Add(const RequestTotals& t);
};

// a + b, or UINT64_MAX when that overflows (a hostile segment's numbers).
inline uint64_t SaturatingAdd(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

}  // namespace tfpm::scoreboard
