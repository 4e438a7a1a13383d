// Idle memory trimming (the pool's idle_trim, php_embed.h): what a PHP
// thread gives back of its own Zend heap while it waits for a request.
// Always on the thread that owns the heap (AG(mm_heap) is per thread under
// ZTS): another thread's heap is never touched.
//
// What Zend keeps after a request (Zend/zend_alloc.c, PHP 8.4):
// php_request_shutdown() ends in shutdown_memory_manager() ->
// zend_mm_shutdown(heap, full = false): huge blocks are unmapped, every
// chunk but the first goes to the heap's cache, and cached chunks are
// unmapped only down to avg_chunks_count = (avg_chunks_count +
// peak_chunks_count) / 2, so a request that used 40 chunks (80 MiB) leaves
// about 20 of them mapped, resident and dirty until later requests bring
// the average down. The first ("main") chunk is kept: its first 4 KiB page
// holds the chunk header and the heap itself (zend_mm_chunk.heap_slot), and
// its other 511 pages stay resident with whatever the request wrote there.
// The map of every chunk is reset, so all those pages are free to Zend.
//
// Classic threads (TrimIdleHeap), between requests, only when the heap is
// provably empty: zend_memory_usage(false) (heap->size, counted on every
// small, large and huge allocation and set to 0 by the shutdown) is 0, so
// no block allocated since that shutdown is alive.
//  1. zend_mm_shutdown(heap, false, silent) again, as an empty request's
//     end would: it only resets the (empty) maps, free lists and shadow
//     key, and halves the gap between avg_chunks_count and 1 (the empty
//     heap's peak), unmapping cached chunks above it. Repeated until only
//     the main chunk is mapped (zend_memory_usage(true) == 2 MiB; about
//     log2(cached chunks) + 2 calls, bounded at 64).
//  2. madvise(MADV_DONTNEED) on the main chunk's pages after the first
//     (os::DiscardPages): the chunk is 2 MiB-aligned and the heap lives in
//     it (zend_mm_init: heap = &chunk->heap_slot; main_chunk never changes),
//     so its address is the heap's rounded down. Every one of those pages
//     is free in the map just reset, and Zend never reads a free page's
//     contents before writing it (a small run writes its free list when it
//     is carved, a large block is the caller's, ecalloc zeroes), so a zero
//     page in its place is as good. The header page is left alone.
// The next request maps new chunks and faults those pages in again.
//
// Worker mode (CollectHeapGarbage): the app's objects live in the heap
// across requests, so nothing that assumes an empty heap: only
// zend_mm_gc(), the allocator's own collection (as when memory_limit is
// near): small-run pages whose every slot is free go back to the chunk's
// free pages, and chunks left empty are unmapped (or cached, by the same
// heuristic as above).
//
// With USE_ZEND_ALLOC=0 (the sanitizer runs) PHP allocates with malloc: the
// heap is a custom one (is_zend_mm() false), nothing here applies, and the
// caller's malloc_trim() does the work. Without ZEND_MM_STAT (never in
// PHP's default builds) zend_memory_usage() is always 0: then only
// zend_mm_gc() runs, since emptiness cannot be proven.
#include "sapi/php_internal.h"

extern "C" {
#include <Zend/zend_alloc.h>
}

#include <cstdint>

#include "os/memory_trim.h"

namespace tfpm::sapi {
namespace {

constexpr int kMaxShutdowns = 64;

uint64_t MappedBytes() { return zend_memory_usage(true); }

}  // namespace

HeapTrim TrimIdleHeap() {
  HeapTrim t;
  if (!is_zend_mm()) return t;
  zend_mm_heap* heap = zend_mm_get_heap();
  t.before = MappedBytes();
  // ZEND_MM_STAT compiled out (real_size reads 0): emptiness unknown.
  if (t.before == 0 || zend_memory_usage(false) != 0) {
    zend_mm_gc(heap);
    t.after = MappedBytes();
    return t;
  }
  for (int i = 0; i < kMaxShutdowns && MappedBytes() > ZEND_MM_CHUNK_SIZE; ++i) {
    zend_mm_shutdown(heap, /*full_shutdown=*/false, /*silent=*/true);
  }
  const uintptr_t chunk = reinterpret_cast<uintptr_t>(heap) & ~(uintptr_t{ZEND_MM_CHUNK_SIZE} - 1);
  const size_t header = (size_t{ZEND_MM_PAGE_SIZE} + os::PageSize() - 1) / os::PageSize() * os::PageSize();
  if (header < ZEND_MM_CHUNK_SIZE) {
    // Cannot fail on a mapped, page-aligned range; if it did, the pages
    // simply stay resident.
    (void)os::DiscardPages(reinterpret_cast<void*>(chunk + header), ZEND_MM_CHUNK_SIZE - header);
  }
  t.after = MappedBytes();
  t.discarded_main_chunk = true;
  return t;
}

HeapTrim CollectHeapGarbage() {
  HeapTrim t;
  if (!is_zend_mm()) return t;
  t.before = MappedBytes();
  zend_mm_gc(zend_mm_get_heap());
  t.after = MappedBytes();
  return t;
}

}  // namespace tfpm::sapi
