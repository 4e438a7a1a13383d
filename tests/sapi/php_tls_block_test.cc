// The engine's hottest globals (CG, EG, AG) sit in each thread's static TLS
// block at offsets fixed at compile time
// (tools/lib/php-patches/zts/0002-tls-block.patch). Real ZTS libphp, real
// threads. The patch keeps TSRM's run-time path (_tsrm_ls_cache plus
// executor_globals_offset, which the JIT and extensions built against stock
// headers use) pointing at the same memory, and ties each thread's block to
// the thread's life: these tests hold it to both.
#include <doctest/doctest.h>
#include <malloc.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>

#include "fakes/memory_exchange.h"
#include "sapi/php_embed.h"
#include "sapi/sapi_test_util.h"

extern "C" {
#include <TSRM.h>
#include <main/php.h>
}

namespace tfpm::sapi {
namespace {

#ifdef TSRM_TLS_BLOCK_SIZE

struct Where {
  const char* block = nullptr;     // this thread's tsrm_tls_block
  const char* cache = nullptr;     // what TSRM's run-time path starts from
  const char* eg_fixed = nullptr;  // &EG(...) as this build's headers reach it
  const char* eg_legacy = nullptr; // cache + executor_globals_offset
  const char* cg_fixed = nullptr;
  const char* cg_legacy = nullptr;
  std::string body;
};

Where Look(const std::string& script) {
  Where w;
  PhpThreadScope scope;
  w.block = tsrm_tls_block;
  w.cache = static_cast<const char*>(tsrm_get_ls_cache());
  w.eg_fixed = reinterpret_cast<const char*>(&EG(uninitialized_zval));
  w.eg_legacy = w.cache + executor_globals_offset + offsetof(zend_executor_globals, uninitialized_zval);
  w.cg_fixed = reinterpret_cast<const char*>(&CG(function_table));
  w.cg_legacy = w.cache + compiler_globals_offset + offsetof(zend_compiler_globals, function_table);
  MemoryExchange ex(Base(script));
  ExecuteRequest(ex);
  w.body = ex.Body();
  return w;
}

bool Inside(const char* p, const char* block) { return p >= block && p < block + TSRM_TLS_BLOCK_SIZE; }

TEST_CASE("each PHP thread's EG and CG are in its own TLS block, where TSRM's run-time offsets find them too") {
  const std::string script = Rt().Script("tls-block.php", "<?php function f($n) { return $n ? f($n - 1) + 1 : 0; } echo f(50);");
  Where a, b;
  std::thread ta([&] { a = Look(script); });
  ta.join();
  std::thread tb([&] { b = Look(script); });
  // Two threads alive at once get two blocks.
  Where c;
  std::thread tc([&] { c = Look(script); });
  tb.join();
  tc.join();
  for (const Where* w : {&a, &b, &c}) {
    CHECK(w->body == "50");
    CHECK(w->cache == w->block);
    CHECK(Inside(w->eg_fixed, w->block));
    CHECK(Inside(w->cg_fixed, w->block));
    CHECK(w->eg_fixed == w->eg_legacy);
    CHECK(w->cg_fixed == w->cg_legacy);
  }
  CHECK(b.block != c.block);
  CHECK(static_cast<size_t>(executor_globals_offset) == ZEND_EG_FIXED_OFFSET);
  CHECK(static_cast<size_t>(compiler_globals_offset) == ZEND_CG_FIXED_OFFSET);
}

// A thread that takes PHP's per-thread state (ts_resource) and exits without
// ts_free_thread(): its entry lives in its TLS, so TSRM must let go of it at
// the thread's exit (a pthread key destructor), or the table would keep a
// pointer into freed TLS and the thread's globals (≈ 600 KB of tables each)
// would never be freed. Later threads, which glibc gives the same TLS
// memory, must still run PHP.
TEST_CASE("PHP threads that exit without ts_free_thread free their globals and leave TSRM usable") {
  const std::string script = Rt().Script("tls-exit.php", "<?php echo strtoupper('ok');");
  auto leave_without_free = [] {
    (void)ts_resource(0);
    ZEND_TSRMLS_CACHE_UPDATE();
  };
  // Warm up: the first thread's allocations (arena, caches) are not a leak.
  std::thread(leave_without_free).join();
  const size_t before = mallinfo2().uordblks;
  for (int i = 0; i < 40; i++) std::thread(leave_without_free).join();
  const size_t after = mallinfo2().uordblks;
  // 40 leaked sets of tables would be about 24 MB; allow noise of 2 MB.
  CHECK_MESSAGE(after < before + 2 * 1024 * 1024, "before ", before, " after ", after);
  for (int i = 0; i < 5; i++) {
    std::string body;
    std::thread([&] {
      PhpThreadScope scope;
      MemoryExchange ex(Base(script));
      ExecuteRequest(ex);
      body = ex.Body();
    }).join();
    CHECK(body == "OK");
  }
}

#else

TEST_CASE("libphp is built with its engine globals in static TLS") {
  FAIL("libphp was built without tools/lib/php-patches/zts/0002-tls-block.patch");
}

#endif

}  // namespace
}  // namespace tfpm::sapi
