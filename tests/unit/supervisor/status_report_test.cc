// `pm-ctl status` pieces (supervisor/status_report.h): a pool's counters are
// the retired processes' plus the live segments', and ToJson writes every
// key tools/ctl/main.cc reads.
#include "supervisor/status_report.h"

#include <doctest/doctest.h>

#include <vector>

namespace tfpm::supervisor {

TEST_CASE("pool report: retired counters plus each live segment's, under the keys pm-ctl reads") {
  PoolCounters c;
  c.retired_slow = 1;
  c.retired_terminated = 2;
  c.retired_rejected = 3;
  c.retired_memory_recycles = 4;
  c.retired_idle_trims = 30;
  c.retired_limits[0] = 5;
  c.retired_restarts[static_cast<size_t>(base::RestartCause::kWatch)] = 6;
  c.process_restarts[static_cast<size_t>(base::RestartCause::kCrash)] = 9;
  std::vector<char> mem(scoreboard::SegmentSize(1));
  scoreboard::Segment seg(mem.data(), mem.size());
  seg.Initialize(1, 42, 0);
  seg.header()->slow_requests.store(10);
  seg.header()->rejected_requests.store(20);
  seg.header()->Count(scoreboard::Limit(0));
  seg.header()->CountRestart(base::RestartCause::kWatch);
  seg.header()->CountRestart(base::RestartCause::kExit);
  seg.header()->idle_trims.store(12);

  PoolReport r;
  r.name = "www";
  r.listen = "127.0.0.1:9000";
  r.mode = "classic";
  r.pm = "static";
  r.generation = 3;
  r.busy_threads = 1;
  r.idle_threads = 2;
  r.requests = 7;
  r.totals = SegmentTotals::Retired(c);
  r.totals.Add(seg);
  r.recycles_max_requests = 8;
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) r.process_restarts[i] = c.process_restarts[i];
  r.health = control::Json{{"state", "ok"}};
  r.processes = control::Json::array();
  const control::Json j = ToJson(r);
  CHECK(j["slow_requests"] == 11);
  CHECK(j["terminated_requests"] == 2);
  CHECK(j["max_wait_rejected"] == 23);
  CHECK(j["limits"][std::string(scoreboard::LimitKey(scoreboard::Limit(0)))] == 6);
  CHECK(j["recycles"]["max_requests"] == 8);
  CHECK(j["recycles"]["interpreters_memory"] == 4);
  CHECK(j["idle_trims"] == 30 + 12);
  // Threads' restarts: retired plus live; processes': the supervisor's.
  CHECK(j["restarts"]["threads"]["watch"] == 7);
  CHECK(j["restarts"]["threads"]["exit"] == 1);
  CHECK(j["restarts"]["threads"]["crash"] == 0);
  CHECK(j["restarts"]["processes"]["crash"] == 9);
  CHECK(j["restarts"]["processes"]["reload"] == 0);
  CHECK(j["restarts"]["threads"].size() == base::kRestartCauseCount);
  CHECK(j["restarts"]["processes"].size() == base::kRestartCauseCount);
  for (const char* key : {"name", "listen", "mode", "pm", "busy_threads", "idle_threads", "requests", "health",
                          "processes", "generation"}) {
    CHECK_MESSAGE(j.contains(key), key);
  }
  CHECK(j["busy_threads"] == 1);
  CHECK(j["idle_threads"] == 2);
}

}  // namespace tfpm::supervisor
