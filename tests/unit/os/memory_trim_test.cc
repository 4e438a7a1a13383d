#include "os/memory_trim.h"

#include <sys/mman.h>

#include <doctest/doctest.h>

#include <cstring>

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

TEST_CASE("TrimMallocArenas can be called at any time") {
  for (int i = 0; i < 2; ++i) (void)TrimMallocArenas();
}

}  // namespace
}  // namespace tfpm::os
