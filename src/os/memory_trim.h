// Giving memory a process no longer uses back to the kernel (the pool's
// idle_trim, docs/config.md "Idle memory trimming"). Both calls only drop
// physical pages: the address ranges stay mapped, and touching them again
// costs a page fault each (a fresh zero page for DiscardPages).
#pragma once

#include <cstddef>

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

// The kernel's page size.
size_t PageSize();

}  // namespace tfpm::os
