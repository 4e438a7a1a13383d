// Idle memory trimming against the real ZTS libphp (sapi/php_heap_trim.cc):
// what TrimIdleHeap and CollectHeapGarbage give back of a thread's own Zend
// heap, and that the thread's next request (classic) or the app's state
// (worker mode) is intact afterwards.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "fakes/memory_exchange.h"
#include "os/process_memory.h"
#include "sapi/php_embed.h"
#include "sapi/sapi_test_util.h"

namespace tfpm::sapi {
namespace {

constexpr uint64_t kChunk = 2 << 20;  // ZEND_MM_CHUNK_SIZE

bool ZendAllocOff() {
  const char* v = std::getenv("USE_ZEND_ALLOC");
  return v != nullptr && std::string(v) == "0";
}

// Many small strings (32-byte bins): tens of MB in Zend's 2 MiB chunks, which
// the heap keeps cached after the request.
constexpr char kBuild[] =
    "<?php $n = (int)($_GET['n'] ?? 0); $a = []; for ($i = 0; $i < $n; $i++) { $a[] = 'v' . $i; }"
    " echo count($a), ':', $a[$n - 1] ?? '-';";

TEST_CASE("TrimIdleHeap: a classic thread's cached chunks and free pages go; the next request is served") {
  const std::string script = Rt().Script("trim_build.php", kBuild);
  if (ZendAllocOff()) {
    MESSAGE("USE_ZEND_ALLOC=0 (sanitizer build): PHP allocates with malloc; no Zend heap to trim");
    std::thread([] {
      PhpThreadScope scope;
      const HeapTrim t = TrimIdleHeap();
      CHECK(t.before == 0);
      CHECK(t.after == 0);
    }).join();
    return;
  }
  auto rss = os::ResidentMemory::Open();
  REQUIRE(rss.ok());
  std::thread([&] {
    PhpThreadScope scope;
    MemoryExchange big(Base(script, "GET", "n=800000"));
    ExecuteRequest(big);
    REQUIRE(big.Body() == "800000:v799999");
    const uint64_t rss_before = rss->Read().value();
    const HeapTrim t = TrimIdleHeap();
    const uint64_t rss_after = rss->Read().value();
    CAPTURE(t.before);
    CAPTURE(t.after);
    CAPTURE(rss_before);
    CAPTURE(rss_after);
    CHECK(t.before >= 4 * kChunk);  // the request's chunks, cached
    CHECK(t.after == kChunk);       // only the first chunk left
    CHECK(t.discarded_main_chunk);
    // What was unmapped and discarded left the process's RSS.
    CHECK(rss_before - rss_after >= (t.before - t.after) * 3 / 4);
    // The thread serves on: a small request, then the large one again.
    MemoryExchange small(Base(script, "GET", "n=3"));
    ExecuteRequest(small);
    CHECK(small.Body() == "3:v2");
    MemoryExchange again(Base(script, "GET", "n=800000"));
    ExecuteRequest(again);
    CHECK(again.Body() == "800000:v799999");
    CHECK(TrimIdleHeap().after == kChunk);
    // Nothing left to give: a second trim changes nothing.
    const HeapTrim second = TrimIdleHeap();
    CHECK(second.before == kChunk);
    CHECK(second.after == kChunk);
  }).join();
}

// A worker thread waiting in tfpm_handle_request(): collects between
// requests, as the Dispatcher's trimmer does.
class CollectingSource final : public RequestSource {
 public:
  explicit CollectingSource(const std::string& script) : script_(script) {}
  bool Next(Serve& serve) override {
    if (served_ == 3) return false;
    if (served_ > 0) trims[served_ - 1] = CollectHeapGarbage();
    const char* query[] = {"do=garbage", "do=check", "do=check"};
    MemoryExchange ex(Base(script_, "GET", query[served_]));
    serve(ex);
    bodies[served_++] = ex.Body();
    return true;
  }
  HeapTrim trims[2];
  std::string bodies[3];

 private:
  std::string script_;
  int served_ = 0;
};

TEST_CASE("CollectHeapGarbage: a worker's garbage goes, its objects stay") {
  // Boot keeps 20000 objects; the first request makes (and drops) 800000
  // small strings; the next requests check every kept object.
  const std::string script = Rt().Script(
      "trim_worker.php",
      "<?php $keep = []; for ($i = 0; $i < 20000; $i++) { $o = new stdClass; $o->v = 'k' . $i; $keep[] = $o; }\n"
      "while (tfpm_handle_request(function () use (&$keep) {\n"
      "  if ($_GET['do'] === 'garbage') { $a = []; for ($i = 0; $i < 800000; $i++) { $a[] = 'g' . $i; }"
      " echo count($a); return; }\n"
      "  $ok = 0; foreach ($keep as $i => $o) { if ($o->v === 'k' . $i) $ok++; } echo $ok;\n"
      "})) {}\n");
  WorkerOptions o;
  o.script = script;
  CollectingSource src(script);
  WorkerRun run;
  std::thread([&] {
    PhpThreadScope scope;
    run = RunWorkerScript(o, src);
  }).join();
  CHECK(run.requests == 3);
  CHECK(src.bodies[0] == "800000");
  CHECK(src.bodies[1] == "20000");
  CHECK(src.bodies[2] == "20000");
  if (ZendAllocOff()) {
    MESSAGE("USE_ZEND_ALLOC=0 (sanitizer build): no Zend heap to collect");
    CHECK(src.trims[0].before == 0);
    return;
  }
  CAPTURE(src.trims[0].before);
  CAPTURE(src.trims[0].after);
  CHECK(src.trims[0].before >= 8 * kChunk);
  CHECK(src.trims[0].after <= src.trims[0].before / 2);
  CHECK_FALSE(src.trims[0].discarded_main_chunk);
}

}  // namespace
}  // namespace tfpm::sapi
