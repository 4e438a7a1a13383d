#include "os/memory_trim.h"

#include <malloc.h>
#include <pthread.h>
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

Result<StackRange> CurrentThreadStack() {
  pthread_attr_t attr;
  if (const int rc = ::pthread_getattr_np(::pthread_self(), &attr); rc != 0) {
    return ErrnoStatus("pthread_getattr_np", rc);
  }
  void* addr = nullptr;
  size_t size = 0;
  const int rc = ::pthread_attr_getstack(&attr, &addr, &size);
  ::pthread_attr_destroy(&attr);
  if (rc != 0) return ErrnoStatus("pthread_attr_getstack", rc);
  const auto low = reinterpret_cast<uintptr_t>(addr);
  return StackRange{.low = low, .high = low + size};
}

// noinline: `here` must be in this call's own frame, below the caller's.
[[gnu::noinline]] Result<size_t> DiscardUnusedStack() {
  if (::getpid() == ::gettid()) return Status::InvalidArgument("DiscardUnusedStack: the main thread's stack");
  const Result<StackRange> stack = CurrentThreadStack();
  if (!stack.ok()) return stack.status();
  volatile char here = 0;
  const auto sp = reinterpret_cast<uintptr_t>(&here);
  if (sp < stack->low || sp >= stack->high) {
    return Status::InvalidArgument("DiscardUnusedStack: the frame is not on the thread's stack");
  }
  if (sp - stack->low <= kStackKeep + PageSize()) return size_t{0};
  const uintptr_t low = (stack->low + PageSize() - 1) & ~(PageSize() - 1);
  const uintptr_t end = (sp - kStackKeep) & ~(PageSize() - 1);
  if (end <= low) return size_t{0};
  if (Status st = DiscardPages(reinterpret_cast<void*>(low), end - low); !st.ok()) return st;
  return end - low;
}

size_t PageSize() {
  static const size_t page = [] {
    const long p = ::sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<size_t>(p) : size_t{4096};
  }();
  return page;
}

}  // namespace tfpm::os
