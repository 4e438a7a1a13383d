#include "tools/fcgi-bench/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

namespace tfpm::bench {

Histogram::Histogram(int precision_bits)
    : precision_bits_(std::clamp(precision_bits, kMinPrecisionBits, kMaxPrecisionBits)),
      sub_buckets_(uint64_t{1} << precision_bits_),
      // The highest bucket index is (63 - b) * M + 2M - 1.
      counts_(static_cast<size_t>((65 - precision_bits_) * sub_buckets_), 0) {}

size_t Histogram::BucketIndex(uint64_t value) const {
  if (value < sub_buckets_) return static_cast<size_t>(value);
  const int highest_bit = 63 - std::countl_zero(value);
  const int shift = highest_bit - precision_bits_;
  return static_cast<size_t>(static_cast<uint64_t>(shift) * sub_buckets_ + (value >> shift));
}

uint64_t Histogram::BucketLowest(size_t index) const {
  if (index < 2 * sub_buckets_) return index;
  const uint64_t shift = index / sub_buckets_ - 1;
  const uint64_t mantissa = index - shift * sub_buckets_;  // in [M, 2M)
  return mantissa << shift;
}

uint64_t Histogram::BucketHighest(size_t index) const {
  if (index < 2 * sub_buckets_) return index;
  const uint64_t shift = index / sub_buckets_ - 1;
  const uint64_t mantissa = index - shift * sub_buckets_;
  // (mantissa + 1) << shift may be 2^64 for the last bucket: compute
  // lowest + (width - 1) instead.
  return (mantissa << shift) + ((uint64_t{1} << shift) - 1);
}

uint64_t Histogram::LowestEquivalentValue(uint64_t value) const {
  return BucketLowest(BucketIndex(value));
}

uint64_t Histogram::HighestEquivalentValue(uint64_t value) const {
  return BucketHighest(BucketIndex(value));
}

void Histogram::Record(uint64_t value, uint64_t count) {
  if (count == 0) return;
  counts_[BucketIndex(value)] += count;
  count_ += count;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value) * static_cast<long double>(count);
}

Status Histogram::Merge(const Histogram& other) {
  if (other.precision_bits_ != precision_bits_) {
    return Status::InvalidArgument("histogram merge: precision " +
                                   std::to_string(other.precision_bits_) + " bits into " +
                                   std::to_string(precision_bits_) + " bits");
  }
  if (other.count_ == 0) return Status::Ok();
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  return Status::Ok();
}

void Histogram::Reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
}

double Histogram::Mean() const {
  if (count_ == 0) return 0;
  return static_cast<double>(sum_ / static_cast<long double>(count_));
}

uint64_t Histogram::ValueAtPercentile(double percentile) const {
  if (count_ == 0) return 0;
  if (!(percentile > 0)) return min_;  // also NaN
  if (percentile >= 100) return max_;
  // Rank of the wanted value, 1-based: ceil(p/100 * count), at least 1; the
  // epsilon keeps 99% of 100 from rounding up to 100 in floating point.
  const long double exact = static_cast<long double>(percentile) / 100 * count_;
  uint64_t rank = static_cast<uint64_t>(std::ceil(exact - 1e-9L));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(BucketHighest(i), min_, max_);
  }
  return max_;  // not reached: the counts sum to count_
}

}  // namespace tfpm::bench
