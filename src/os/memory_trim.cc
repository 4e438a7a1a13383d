#include "os/memory_trim.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace tfpm::os {

bool TrimMallocArenas() { return ::malloc_trim(0) != 0; }

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
