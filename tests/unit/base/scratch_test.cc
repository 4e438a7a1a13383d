#include "base/scratch.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace tfpm::base {
namespace {

TEST_CASE("a scratch buffer keeps its capacity up to kScratchKeep bytes and frees a larger one") {
  std::string s(kScratchKeep - 1, 'x');
  s.clear();
  ReleaseIfLarge(s);
  CHECK(s.capacity() >= kScratchKeep - 1);  // kept: the next use allocates nothing
  s.assign(kScratchKeep + 1, 'x');
  ReleaseIfLarge(s);
  CHECK(s.empty());
  CHECK(s.capacity() < kScratchKeep);
}

TEST_CASE("ReleaseIfLarge counts a vector's bytes, not its elements") {
  std::vector<int> v(kScratchKeep / sizeof(int) + 1);
  ReleaseIfLarge(v);
  CHECK(v.capacity() == 0);
  std::vector<int> small(100);
  ReleaseIfLarge(small);
  CHECK(small.size() == 100);  // under the limit: untouched
  std::string custom(200, 'x');
  ReleaseIfLarge(custom, 100);
  CHECK(custom.capacity() < 100);
}

TEST_CASE("ScratchRelease frees a grown buffer when its scope ends, on every way out") {
  std::string s;
  auto use = [&s](size_t n, bool early) {
    ScratchRelease release(s);
    s.assign(n, 'x');
    if (early) return s.size();
    return s.size() + 0;
  };
  CHECK(use(16, true) == 16);
  CHECK(s.capacity() >= 16);
  CHECK(use(4 * kScratchKeep, true) == 4 * kScratchKeep);
  CHECK(s.capacity() < kScratchKeep);
  CHECK(use(4 * kScratchKeep, false) == 4 * kScratchKeep);
  CHECK(s.capacity() < kScratchKeep);
}

}  // namespace
}  // namespace tfpm::base
