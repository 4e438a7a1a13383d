#include "os/memory_trim.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace tfpm::os {

// Under AddressSanitizer or ThreadSanitizer the sanitizer's allocator owns
// the heap and glibc's arenas are not in use: malloc_trim has nothing to
// return there, and in a ThreadSanitizer build it crashed in glibc's mtrim
// (SEGV at 0x8, test_rolling_restart_of_one_pool_under_load, 2026-12-04).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
bool TrimMallocArenas() { return false; }
#else
bool TrimMallocArenas() { return ::malloc_trim(0) != 0; }
#endif

Status DiscardPages(void* addr, size_t len) {
  const size_t page = PageSize();
  len -= len % page;
  if (len == 0) return Status::Ok();
  if (::madvise(addr, len, MADV_DONTNEED) != 0) {
    return Status::IoError(std::string("madvise(MADV_DONTNEED): ") + std::strerror(errno));
  }
  return Status::Ok();
}

size_t PageSize() {
  static const size_t page = [] {
    const long p = ::sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<size_t>(p) : size_t{4096};
  }();
  return page;
}

}  // namespace tfpm::os
