// A worker, and the PHP code it runs, can write its scoreboard segment at
// any moment (it is mapped read-write and reachable as /proc/self/fd/5).
// The supervisor reads it for the status page and pm-ctl status: whatever
// the segment says, the supervisor never reads outside the mapping
// (docs/security.md "Trust boundaries").
#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "scoreboard/scoreboard.h"
#include "supervisor/pool_status.h"

namespace tfpm::supervisor {
namespace {

// A one-page segment followed by a page nothing may touch: a read past the
// segment faults.
class GuardedSegment {
 public:
  GuardedSegment() {
    page_ = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    mem_ = ::mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(mem_ != MAP_FAILED);
    REQUIRE(::mprotect(static_cast<char*>(mem_) + page_, page_, PROT_NONE) == 0);
    threads_ = static_cast<uint32_t>((page_ - sizeof(scoreboard::Header)) / sizeof(scoreboard::ThreadSlot));
    REQUIRE(threads_ >= 1);
    seg().Initialize(threads_, 100, 1'000'000);
    for (uint32_t t = 0; t < threads_; ++t) scoreboard::SlotWriter(seg().slot(t)).SetState(scoreboard::ThreadState::kIdle);
  }
  ~GuardedSegment() { ::munmap(mem_, 2 * page_); }
  scoreboard::Segment seg() const { return scoreboard::Segment(mem_, page_); }
  uint32_t threads() const { return threads_; }
  void SetThreadCount(uint32_t n) {
    std::atomic_ref<uint32_t>(seg().header()->thread_count).store(n, std::memory_order_relaxed);
  }

 private:
  size_t page_ = 0;
  void* mem_ = nullptr;
  uint32_t threads_ = 0;
};

TEST_CASE("Threads() is the slot count only when that many slots fit") {
  GuardedSegment g;
  CHECK(g.seg().Valid());
  CHECK(g.seg().Threads() == g.threads());
  g.SetThreadCount(g.threads() + 1);
  CHECK_FALSE(g.seg().Valid());
  CHECK(g.seg().Threads() == 0);
  g.SetThreadCount(0xffffffffu);
  CHECK(g.seg().Threads() == 0);
  CHECK(scoreboard::Segment(g.seg().header(), sizeof(scoreboard::Header) - 1).Threads() == 0);
}

// Before: the status page showed the pid the segment names, which the
// worker writes: pool A could put pool B's pid on its own page.
TEST_CASE("the status page shows the pid the supervisor knows, not the one the segment names") {
  GuardedSegment g;
  g.seg().header()->pid = 999;  // another pool's process
  PoolInfo info;
  info.name = "www";
  const scoreboard::Segment known(g.seg().header(), sizeof(scoreboard::Header) +
                                                        g.threads() * sizeof(scoreboard::ThreadSlot), 100);
  auto status = PoolStatus(info, PoolCounters{}, {known}, ListenQueue{}, true, 2'000'000);
  REQUIRE(status["processes"].size() == g.threads());
  for (const auto& row : status["processes"]) CHECK(row["pid"] == 100);
  CHECK(known.Pid() == 100);
  CHECK(g.seg().Pid() == 999);  // a reader that does not know: the header's
}

// Before: the readers checked the count in Valid(), then read it again on
// every turn of their loop; a worker flipping it between a valid value and
// 0xffffffff made the supervisor read past the mapping (SIGSEGV: the root
// supervisor died, and every pool with it).
TEST_CASE("a thread count that changes while the supervisor reads never takes it past the segment") {
  GuardedSegment g;
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      g.SetThreadCount(g.threads());
      g.SetThreadCount(0xffffffffu);
      g.SetThreadCount(0xffffffffu);
    }
  });
  PoolInfo info;
  info.name = "www";
  uint64_t rows = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::vector<scoreboard::Segment> segments{g.seg()};
    if (!g.seg().Valid()) continue;  // as the supervisor: only valid segments
    auto status = PoolStatus(info, PoolCounters{}, segments, ListenQueue{}, true, 2'000'000);
    rows += status["processes"].size();
    (void)CountThreads(segments);
    PoolCounters c;
    c.Retire(g.seg());
  }
  stop = true;
  flipper.join();
  // Each status had at most the slots that fit.
  CHECK(rows <= 20000u * g.threads());
  // With the count left alone, every slot is there again.
  g.SetThreadCount(g.threads());
  CHECK(PoolStatus(info, PoolCounters{}, {g.seg()}, ListenQueue{}, true, 2'000'000)["processes"].size() ==
        g.threads());
}

}  // namespace
}  // namespace tfpm::supervisor
