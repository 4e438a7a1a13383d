// tools/bench/malloc-count.c — an LD_PRELOAD library that counts the calls
// into the C allocator (malloc, calloc, realloc, the aligned ones, free),
// per thread, in a file another process can read while this one runs.
// tools/bench/per-request builds it and reads it; see there.
//
// With MALLOC_COUNT_DIR set, each process that loads it maps
// $MALLOC_COUNT_DIR/<pid> (shared): a header, then up to kSlots slots of
// { tid, counts[5] }, one slot claimed by each thread on its first call.
// Counts are only ever incremented (relaxed atomics): a reader takes two
// snapshots and subtracts. Without MALLOC_COUNT_DIR nothing is counted.
//
// Zend's emalloc does not come here (the Zend heap gets its memory with
// mmap); pemalloc(..., 1) and C++ new do.
//
//   cc -O2 -shared -fPIC -o malloc-count.so tools/bench/malloc-count.c
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void __libc_free(void*);

enum { kMalloc, kCalloc, kRealloc, kAligned, kFree, kKinds };
enum { kSlots = 1024 };

struct Slot {
  _Atomic uint64_t tid;  // 0 = free
  _Atomic uint64_t counts[kKinds];
};
struct Table {
  uint64_t magic;  // "mcount1\0"
  uint64_t slots;
  _Atomic uint64_t used;
  uint64_t pad;
  struct Slot slot[kSlots];
};

static struct Table* table;  // NULL until the constructor mapped it
static __thread struct Slot* my_slot __attribute__((tls_model("initial-exec")));
static __thread int claiming __attribute__((tls_model("initial-exec")));

static void Count(int kind) {
  struct Table* t = table;
  if (t == NULL || claiming) return;
  struct Slot* s = my_slot;
  if (s == NULL) {
    claiming = 1;
    uint64_t i = atomic_fetch_add_explicit(&t->used, 1, memory_order_relaxed);
    if (i >= kSlots) return;  // stays claiming: this thread is not counted
    s = &t->slot[i];
    atomic_store_explicit(&s->tid, (uint64_t)syscall(SYS_gettid), memory_order_relaxed);
    my_slot = s;
    claiming = 0;
  }
  atomic_fetch_add_explicit(&s->counts[kind], 1, memory_order_relaxed);
}

__attribute__((constructor)) static void Open(void) {
  const char* dir = getenv("MALLOC_COUNT_DIR");
  if (dir == NULL || *dir == 0) return;
  char path[4096];
  snprintf(path, sizeof path, "%s/%d", dir, (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  void* p = MAP_FAILED;
  if (ftruncate(fd, sizeof(struct Table)) == 0) {
    p = mmap(NULL, sizeof(struct Table), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  close(fd);
  if (p == MAP_FAILED) return;
  struct Table* t = p;
  memcpy(&t->magic, "mcount1", 8);
  t->slots = kSlots;
  table = t;
}

void* malloc(size_t n) {
  Count(kMalloc);
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t m) {
  Count(kCalloc);
  return __libc_calloc(n, m);
}
void* realloc(void* p, size_t n) {
  Count(kRealloc);
  return __libc_realloc(p, n);
}
void free(void* p) {
  if (p != NULL) Count(kFree);
  __libc_free(p);
}
void* memalign(size_t a, size_t n) {
  Count(kAligned);
  return __libc_memalign(a, n);
}
void* aligned_alloc(size_t a, size_t n) {
  Count(kAligned);
  return __libc_memalign(a, n);
}
int posix_memalign(void** out, size_t a, size_t n) {
  Count(kAligned);
  void* p = __libc_memalign(a, n);
  if (p == NULL) return 12;  // ENOMEM
  *out = p;
  return 0;
}
