// request_slowlog_timeout's CaptureBacktrace against the real ZTS libphp:
// the watchdog reads a running thread's PHP stack from another thread.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <thread>

#include "fakes/memory_exchange.h"
#include "sapi/php_embed.h"
#include "sapi/sapi_test_util.h"

namespace tfpm::sapi {
namespace {

constexpr int kIndex = 902;  // a PhpThreadScope index no other test uses

// Runs `script` as one request on PHP thread kIndex; its body lands in
// *body when the thread ends.
std::thread RunOnPhpThread(const std::string& script, std::string* body) {
  return std::thread([script, body] {
    PhpThreadScope scope(kIndex);
    MemoryExchange ex(Base(script));
    ExecuteRequest(ex);
    *body = ex.Body();
  });
}

// CI of 2026-12-05 logged a slowlog entry whose whole stack was
// "hrtime()": the watchdog read EG(current_execute_data) while hrtime()
// ran, and read that frame after the call had returned and the loop's next
// INIT_FCALL had reused its slot as a pending call (prev_execute_data is
// then the caller's pending-call chain, here NULL). A loop that calls an
// internal function millions of times a second, sampled from outside many
// times: every trace has to reach {main}.
TEST_CASE("CaptureBacktrace of a thread calling an internal function in a loop always reaches {main}") {
  const std::string stop = (Rt().dir / "spin.stop").string();
  auto script = Rt().Script("spin.php",
                            "<?php\n"
                            "function spin($stop) {\n"
                            "    while (!file_exists($stop)) {\n"
                            "        for ($i = 0; $i < 10000; $i++) { $x = hrtime(true); }\n"
                            "    }\n"
                            "}\n"
                            "spin('" + stop + "');\n"
                            "echo 'done';\n");
  std::string body;
  std::thread php = RunOnPhpThread(script, &body);
  const uint64_t seq = RunningSeq(kIndex);
  REQUIRE(seq != 0);
  // From the first reading inside spin() on: {main} alone is true only
  // before spin() is entered.
  for (int i = 0; i < 2000 && CaptureBacktrace(kIndex, seq, 20).find("spin()") == std::string::npos; ++i) {
    ::usleep(1000);
  }
  int traces = 0, torn = 0;
  std::string first_torn;
  for (int i = 0; i < 20000; ++i) {
    const std::string trace = CaptureBacktrace(kIndex, seq, 20);
    if (trace.empty()) continue;  // before the request's first frame
    ++traces;
    if (trace.find("spin() " + script) == std::string::npos || trace.find("{main} " + script) == std::string::npos ||
        trace.find("kept changing") != std::string::npos) {
      if (torn++ == 0) first_torn = trace;
    }
  }
  std::ofstream(stop) << "";
  php.join();
  CHECK(body == "done");
  CHECK(traces > 10000);
  CHECK_MESSAGE(torn == 0, "first incomplete trace:\n" << first_torn);
}

// A stack may also start at a call from C, with no PHP frame below it: a
// shutdown function runs after {main} has returned. Its frame is the
// bottom of a whole reading.
TEST_CASE("CaptureBacktrace reads a shutdown function's stack whole") {
  const std::string stop = (Rt().dir / "shutdown.stop").string();
  auto script = Rt().Script("shutdown_spin.php",
                            "<?php\n"
                            "register_shutdown_function(function () {\n"
                            "    while (!file_exists('" + stop + "')) { usleep(1000); }\n"
                            "});\n"
                            "echo 'done';\n");
  std::string body;
  std::thread php = RunOnPhpThread(script, &body);
  const uint64_t seq = RunningSeq(kIndex);
  REQUIRE(seq != 0);
  std::string trace;
  for (int i = 0; i < 2000 && trace.find("{closure:") == std::string::npos; ++i) {
    trace = CaptureBacktrace(kIndex, seq, 20);
    ::usleep(1000);
  }
  std::ofstream(stop) << "";
  php.join();
  CHECK(body == "done");
  CHECK_MESSAGE(trace.find("{closure:" + script + ":2}() " + script + ":3") != std::string::npos, trace);
  CHECK_MESSAGE(trace.find("{main}") == std::string::npos, trace);
  CHECK_MESSAGE(trace.find("kept changing") == std::string::npos, trace);
}

}  // namespace
}  // namespace tfpm::sapi
