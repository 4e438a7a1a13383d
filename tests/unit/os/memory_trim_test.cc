#include "os/memory_trim.h"

#include <sys/mman.h>

#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "os/process_memory.h"

namespace tfpm::os {
namespace {

TEST_CASE("DiscardPages: the pages leave RSS and read back as zeros") {
  constexpr size_t kSize = 32 << 20;
  void* p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(p != MAP_FAILED);
  auto* bytes = static_cast<unsigned char*>(p);
  std::memset(bytes, 0xab, kSize);
  auto rm = ResidentMemory::Open();
  REQUIRE(rm.ok());
  const uint64_t touched = rm->Read().value();
  // The first page is kept (as the Zend heap's metadata page is).
  REQUIRE(DiscardPages(bytes + PageSize(), kSize - PageSize()).ok());
  const uint64_t discarded = rm->Read().value();
  CHECK(touched - discarded >= kSize / 2);
  CHECK(bytes[0] == 0xab);
  CHECK(bytes[PageSize()] == 0);
  CHECK(bytes[kSize - 1] == 0);
  ::munmap(p, kSize);
}

TEST_CASE("DiscardPages: a partial page at the end is left alone; a misaligned start is an error") {
  void* p = ::mmap(nullptr, 2 * PageSize(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(p != MAP_FAILED);
  auto* bytes = static_cast<unsigned char*>(p);
  std::memset(bytes, 0xcd, 2 * PageSize());
  CHECK(DiscardPages(bytes, PageSize() - 1).ok());  // rounds down to nothing
  CHECK(bytes[0] == 0xcd);
  const Status st = DiscardPages(bytes + 1, PageSize());
  CHECK_FALSE(st.ok());
  CHECK(st.message().find("madvise") != std::string::npos);
  ::munmap(p, 2 * PageSize());
}

// Pages of [low, high) resident now (mincore), both page-aligned.
size_t ResidentPages(uintptr_t low, uintptr_t high) {
  std::vector<unsigned char> v((high - low) / PageSize());
  REQUIRE(::mincore(reinterpret_cast<void*>(low), high - low, v.data()) == 0);
  size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

// Writes `kDeep` bytes of this call's own stack frame; returns a checksum
// of them read back.
constexpr size_t kDeep = 1 << 20;
[[gnu::noinline]] unsigned Deep(unsigned char seed) {
  volatile unsigned char frame[kDeep];
  for (size_t i = 0; i < kDeep; i += 512) frame[i] = static_cast<unsigned char>(seed + i / 512);
  unsigned sum = 0;
  for (size_t i = 0; i < kDeep; i += 512) sum += frame[i];
  return sum;
}

unsigned Expected(unsigned char seed) {
  unsigned sum = 0;
  for (size_t i = 0; i < kDeep; i += 512) sum += static_cast<unsigned char>(seed + i / 512);
  return sum;
}

TEST_CASE("DiscardUnusedStack: a deep call's stack pages leave RSS, and the thread goes on") {
  std::thread t([] {
    const Result<StackRange> stack = CurrentThreadStack();
    REQUIRE(stack.ok());
    volatile char mark = 0;
    const auto here = reinterpret_cast<uintptr_t>(&mark);
    REQUIRE(here > stack->low);
    REQUIRE(here < stack->high);
    const uintptr_t low = (stack->low + PageSize() - 1) & ~(PageSize() - 1);
    // Below what DiscardUnusedStack keeps under its own frame (which is
    // under this one).
    const uintptr_t end = (here - kStackKeep - 64 * 1024) & ~(PageSize() - 1);
    CHECK(Deep(7) == Expected(7));
    const size_t before = ResidentPages(low, end);
    CHECK(before * PageSize() >= kDeep - kStackKeep - 64 * 1024);
    const Result<size_t> discarded = DiscardUnusedStack();
    REQUIRE(discarded.ok());
    CHECK(discarded.value() >= end - low);
    CHECK(ResidentPages(low, end) == 0);
    // The stack above stays: this frame's own page still holds `mark`.
    CHECK(mark == 0);
    // A deep call again: its pages come back as zero pages, written anew.
    CHECK(Deep(11) == Expected(11));
    CHECK(ResidentPages(low, end) >= before / 2);
  });
  t.join();
}

TEST_CASE("DiscardUnusedStack: not on the main thread") {
  const Result<size_t> r = DiscardUnusedStack();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("main thread") != std::string::npos);
}

TEST_CASE("TrimMallocArenas: the free pages inside a thread's arena leave RSS") {
  // 64 MiB in 16 KiB blocks (below malloc's mmap threshold: inside the
  // thread's arena), then a small block after them, so that freeing them
  // leaves one free chunk below a used one: free() itself trims only the
  // arena's top, never such a hole.
  auto rm = ResidentMemory::Open();
  REQUIRE(rm.ok());
  uint64_t touched = 0, freed = 0, trimmed = 0;
  bool released = false;
  std::thread t([&] {
    constexpr size_t kBlock = 16 << 10, kBlocks = 4096;
    std::vector<void*> blocks;
    blocks.reserve(kBlocks);
    for (size_t i = 0; i < kBlocks; ++i) {
      void* b = std::malloc(kBlock);
      if (b == nullptr) return;  // `touched` stays 0: the checks below fail
      std::memset(b, 0x5a, kBlock);
      blocks.push_back(b);
    }
    void* volatile pin = std::malloc(64);  // volatile: the compiler may not drop it
    touched = rm->Read().value();
    for (void* b : blocks) std::free(b);
    freed = rm->Read().value();
    released = TrimMallocArenas();
    trimmed = rm->Read().value();
    std::free(pin);
  });
  t.join();
  INFO("RSS: touched " << touched << ", freed " << freed << ", trimmed " << trimmed);
  REQUIRE(touched > 0);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizer's allocator, not glibc's: nothing to trim, and it says so.
  CHECK_FALSE(released);
#else
  CHECK(released);
  CHECK(freed > trimmed);
  CHECK(freed - trimmed >= 48ULL << 20);
  CHECK(touched >= freed);
#endif
}

}  // namespace
}  // namespace tfpm::os
