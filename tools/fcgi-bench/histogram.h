// A log-linear latency histogram in the style of HdrHistogram (Gil Tene):
// values 0..2^64-1 are counted in buckets whose width grows with the value,
// so that every bucket is at most 1/2^precision_bits of its lower bound wide.
// Recording is O(1) with no allocation; percentile queries walk the buckets.
//
// Layout, with M = 2^precision_bits sub-buckets:
//   * values below M have a bucket each (exact);
//   * a value v >= M with highest set bit p (2^p <= v < 2^(p+1)) is counted in
//     bucket (p - precision_bits) * M + (v >> (p - precision_bits)), i.e. the
//     range [2^p, 2^(p+1)) is split into M equal buckets.
// A value is reported back as the highest value of its bucket ("highest
// equivalent value", as HdrHistogram does), clamped to the largest value
// recorded, so a reported percentile is never below the true one and at most
// one bucket width (relative error 1/M) above it.
//
// Debian 12 has no C/C++ HdrHistogram package (only Go and Java ones), hence
// this small reimplementation. Not thread-safe: use one per thread and Merge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/status.h"

namespace tfpm::bench {

class Histogram {
 public:
  static constexpr int kDefaultPrecisionBits = 8;  // <= 0.39 % relative error
  static constexpr int kMinPrecisionBits = 1;
  static constexpr int kMaxPrecisionBits = 14;

  // Requires kMinPrecisionBits <= precision_bits <= kMaxPrecisionBits
  // (a value outside is clamped to that range).
  explicit Histogram(int precision_bits = kDefaultPrecisionBits);

  // Counts `value` `count` times. A count of 0 is ignored.
  void Record(uint64_t value, uint64_t count = 1);

  // Adds every count of `other` to this histogram. Returns InvalidArgument
  // (and changes nothing) if the precisions differ.
  Status Merge(const Histogram& other);

  // Forgets all values; keeps the precision.
  void Reset();

  uint64_t count() const { return count_; }
  // Exact minimum / maximum / mean of the recorded values; 0 when empty.
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double Mean() const;
  int precision_bits() const { return precision_bits_; }

  // The value at `percentile` (0..100, clamped): the smallest recorded value
  // v such that at least ceil(percentile/100 * count) values are <= v, as
  // the highest equivalent value of v's bucket, clamped to [min(), max()].
  // Percentile 0 returns min(), 100 returns max(). 0 when empty.
  uint64_t ValueAtPercentile(double percentile) const;

  // Bucket helpers, exposed for tests: the bucket a value falls in, and the
  // lowest / highest value that bucket counts.
  size_t BucketIndex(uint64_t value) const;
  uint64_t LowestEquivalentValue(uint64_t value) const;
  uint64_t HighestEquivalentValue(uint64_t value) const;
  size_t bucket_count() const { return counts_.size(); }

 private:
  uint64_t BucketLowest(size_t index) const;
  uint64_t BucketHighest(size_t index) const;

  int precision_bits_;
  uint64_t sub_buckets_;  // M = 2^precision_bits_
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace tfpm::bench
