#include "tools/fcgi-bench/histogram.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace tfpm::bench {
namespace {

// The reference percentile: the value of rank ceil(p/100 * n) in sorted order.
uint64_t Reference(const std::vector<uint64_t>& sorted, double percentile) {
  if (percentile <= 0) return sorted.front();
  const double exact = percentile / 100.0 * static_cast<double>(sorted.size());
  size_t rank = static_cast<size_t>(std::ceil(exact - 1e-9));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// Latency-like values: log-uniform from ~1 us to ~10 s in nanoseconds, plus
// a cluster of small exact values.
std::vector<uint64_t> SampleValues(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exponent(3.0, 10.0);
  std::vector<uint64_t> values;
  values.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (i % 10 == 0) {
      values.push_back(rng() % 300);
    } else {
      values.push_back(static_cast<uint64_t>(std::pow(10.0, exponent(rng))));
    }
  }
  return values;
}

TEST_CASE("Histogram percentiles match a sorted array within one bucket") {
  for (int bits : {3, 7, Histogram::kDefaultPrecisionBits, 11}) {
    CAPTURE(bits);
    Histogram h(bits);
    std::vector<uint64_t> values = SampleValues(20000, 42 + static_cast<uint64_t>(bits));
    for (uint64_t v : values) h.Record(v);
    std::sort(values.begin(), values.end());
    REQUIRE(h.count() == values.size());
    CHECK(h.min() == values.front());
    CHECK(h.max() == values.back());
    for (double p : {0.0, 0.1, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
      CAPTURE(p);
      const uint64_t want = Reference(values, p);
      const uint64_t got = h.ValueAtPercentile(p);
      // Never below the truth, at most the top of the truth's bucket.
      CHECK(got >= want);
      CHECK(got <= h.HighestEquivalentValue(want));
      // Relative error bound: one bucket width, 2^-bits of the value.
      CHECK(static_cast<double>(got - want) <= static_cast<double>(want) / std::ldexp(1.0, bits) + 1);
    }
  }
}

TEST_CASE("Histogram values below 2^precision are exact") {
  Histogram h(4);  // 16 sub-buckets: 0..31 have width 1
  for (uint64_t v = 0; v < 32; ++v) {
    CHECK(h.LowestEquivalentValue(v) == v);
    CHECK(h.HighestEquivalentValue(v) == v);
  }
  // 32..63 has buckets of width 2, 64..127 of width 4.
  CHECK(h.LowestEquivalentValue(33) == 32);
  CHECK(h.HighestEquivalentValue(32) == 33);
  CHECK(h.LowestEquivalentValue(127) == 124);
  CHECK(h.HighestEquivalentValue(124) == 127);
  CHECK(h.BucketIndex(31) + 1 == h.BucketIndex(32));
}

TEST_CASE("Histogram buckets tile the whole uint64 range") {
  Histogram h;
  CHECK(h.BucketIndex(0) == 0);
  CHECK(h.BucketIndex(UINT64_MAX) == h.bucket_count() - 1);
  CHECK(h.HighestEquivalentValue(UINT64_MAX) == UINT64_MAX);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);
    const uint64_t lo = h.LowestEquivalentValue(v);
    const uint64_t hi = h.HighestEquivalentValue(v);
    REQUIRE(lo <= v);
    REQUIRE(v <= hi);
    CHECK(h.BucketIndex(lo) == h.BucketIndex(v));
    CHECK(h.BucketIndex(hi) == h.BucketIndex(v));
    if (lo > 0) CHECK(h.BucketIndex(lo - 1) + 1 == h.BucketIndex(v));
    if (hi < UINT64_MAX) CHECK(h.BucketIndex(hi + 1) == h.BucketIndex(v) + 1);
  }
  h.Record(UINT64_MAX);
  h.Record(0);
  CHECK(h.ValueAtPercentile(100) == UINT64_MAX);
  CHECK(h.ValueAtPercentile(50) == 0);
}

TEST_CASE("Empty histogram answers zeros") {
  Histogram h;
  CHECK(h.count() == 0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  CHECK(h.Mean() == 0);
  CHECK(h.ValueAtPercentile(0) == 0);
  CHECK(h.ValueAtPercentile(50) == 0);
  CHECK(h.ValueAtPercentile(100) == 0);
}

TEST_CASE("Histogram with one value returns it for every percentile") {
  Histogram h;
  h.Record(123456789);
  for (double p : {0.0, 1.0, 50.0, 99.9, 100.0}) CHECK(h.ValueAtPercentile(p) == 123456789);
  CHECK(h.Mean() == doctest::Approx(123456789.0));
}

TEST_CASE("Histogram percentile ranks: 99 of 100 values") {
  Histogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  CHECK(h.ValueAtPercentile(50) == 50);
  CHECK(h.ValueAtPercentile(99) == 99);  // not 100: no floating-point round-up
  CHECK(h.ValueAtPercentile(99.5) == 100);
  CHECK(h.ValueAtPercentile(1) == 1);
  CHECK(h.Mean() == doctest::Approx(50.5));
}

TEST_CASE("Histogram Record with a count equals repeated Record") {
  Histogram a, b;
  a.Record(5000, 3);
  a.Record(7, 0);  // ignored
  for (int i = 0; i < 3; ++i) b.Record(5000);
  CHECK(a.count() == 3);
  CHECK(a.min() == 5000);
  CHECK(a.ValueAtPercentile(50) == b.ValueAtPercentile(50));
  CHECK(a.Mean() == doctest::Approx(b.Mean()));
}

TEST_CASE("Histogram Merge equals recording everything in one") {
  const std::vector<uint64_t> values = SampleValues(5000, 99);
  Histogram all, left, right;
  for (size_t i = 0; i < values.size(); ++i) {
    all.Record(values[i]);
    (i % 3 == 0 ? left : right).Record(values[i]);
  }
  REQUIRE(left.Merge(right).ok());
  CHECK(left.count() == all.count());
  CHECK(left.min() == all.min());
  CHECK(left.max() == all.max());
  CHECK(left.Mean() == doctest::Approx(all.Mean()));
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9}) {
    CHECK(left.ValueAtPercentile(p) == all.ValueAtPercentile(p));
  }
  Histogram empty;
  REQUIRE(left.Merge(empty).ok());
  CHECK(left.count() == all.count());
  REQUIRE(empty.Merge(all).ok());
  CHECK(empty.min() == all.min());
  CHECK(empty.ValueAtPercentile(90) == all.ValueAtPercentile(90));
}

TEST_CASE("Histogram Merge refuses a different precision") {
  Histogram a(8), b(9);
  b.Record(1000);
  const Status s = a.Merge(b);
  CHECK_FALSE(s.ok());
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(a.count() == 0);
}

TEST_CASE("Histogram Reset and precision clamping") {
  Histogram h(99);
  CHECK(h.precision_bits() == Histogram::kMaxPrecisionBits);
  Histogram low(0);
  CHECK(low.precision_bits() == Histogram::kMinPrecisionBits);
  h.Record(10);
  h.Reset();
  CHECK(h.count() == 0);
  CHECK(h.max() == 0);
  CHECK(h.ValueAtPercentile(50) == 0);
  h.Record(3);
  CHECK(h.min() == 3);
}

}  // namespace
}  // namespace tfpm::bench
