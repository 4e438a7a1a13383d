#include "base/rate_limit.h"

#include <doctest/doctest.h>

namespace tfpm::base {
namespace {

TEST_CASE("one line per interval, then the count of the ones left out") {
  RateLimit limit(1000);
  uint64_t dropped = 99;
  CHECK(limit.AllowAt(5000, &dropped));
  CHECK(dropped == 0);
  for (int i = 0; i < 10; ++i) CHECK_FALSE(limit.AllowAt(5000 + i * 50, &dropped));
  CHECK_FALSE(limit.AllowAt(5999, &dropped));
  CHECK(limit.AllowAt(6000, &dropped));
  CHECK(dropped == 11);
  CHECK_FALSE(limit.AllowAt(6001, &dropped));
  CHECK(limit.AllowAt(9000, &dropped));
  CHECK(dropped == 1);
}

}  // namespace
}  // namespace tfpm::base
