// Giving memory a process no longer uses back to the kernel (the pool's
// idle_trim, docs/config.md "Idle memory trimming"). Both calls only drop
// physical pages: the address ranges stay mapped, and touching them again
// costs a page fault each (a fresh zero page for DiscardPages).
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/status.h"

namespace tfpm::os {

// glibc's malloc_trim(0): returns the free memory of every malloc arena
// (the main heap's top and whole free pages inside each arena) to the
// kernel. Process-wide; safe from any thread at any time (it takes each
// arena's lock). True if some memory was released. In ASan/TSan builds a
// no-op that returns false: their allocator is not glibc's.
bool TrimMallocArenas();

// madvise(MADV_DONTNEED) over [addr, addr + len): the pages' contents are
// dropped, and the next access to each maps a zero page. Only for memory
// whose contents nobody needs any more. `addr` must be page-aligned; `len`
// is rounded down to whole pages. An error names the call.
Status DiscardPages(void* addr, size_t len);

// The calling thread's stack below its current depth: drops the physical
// pages between the stack's lowest usable address and kStackKeep bytes
// below the caller's frame, as glibc does for a stack it caches when its
// thread exits. Without this a deep call (a request that recursed through
// PHP's C code) keeps its stack pages resident for the thread's life. What
// lies below the stack pointer is dead, so nothing is lost; the next deep
// call faults zero pages in again. Only for threads pthread_create made
// (an error on the main thread, whose stack the kernel grows on demand).
// Returns the bytes of address range discarded (resident or not).
Result<size_t> DiscardUnusedStack();

// What DiscardUnusedStack leaves below the caller's frame, for the calls
// the thread makes next (glibc keeps PTHREAD_STACK_MIN).
inline constexpr size_t kStackKeep = 16 << 10;

// The calling thread's stack, [low, high): its usable range (not the
// guard page) as pthread_getattr_np reports it. An error names the call.
struct StackRange {
  uintptr_t low = 0;
  uintptr_t high = 0;
};
Result<StackRange> CurrentThreadStack();

// The kernel's page size.
size_t PageSize();

}  // namespace tfpm::os
