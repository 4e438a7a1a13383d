#include <doctest/doctest.h>

#include <string>

#include "tools/ctl/top_model.h"
#include "tools/ctl/top_render.h"

namespace tfpm::ctl {
namespace {

using control::Json;

Json Thread(uint64_t index, const char* state, uint64_t requests) {
  Json t{{"index", index},         {"state", state},     {"requests", requests}, {"last_status", 200},
         {"last_duration_ms", 2.0}, {"last_memory", 2048}};
  return t;
}

Json Running(uint64_t index, uint64_t requests, double ms, const std::string& uri) {
  Json t = Thread(index, "Running", requests);
  t["duration_ms"] = ms;
  t["method"] = "GET";
  t["uri"] = uri;
  t["script"] = "/srv/x.php";
  return t;
}

Json Idle(uint64_t index, uint64_t requests, double last_ms, const std::string& uri) {
  Json t = Thread(index, "Idle", requests);
  t["last_duration_ms"] = last_ms;
  t["last_method"] = "POST";
  t["last_uri"] = uri;
  return t;
}

Json Process(int64_t pid, uint64_t requests, Json threads) {
  return Json{{"pid", pid},           {"slot", 0},          {"generation", 1},
              {"state", "ready"},     {"uptime_s", 1.0},    {"started_at", 1},
              {"requests", requests}, {"rss_bytes", 1 << 20}, {"threads", std::move(threads)}};
}

Json Pool(const std::string& name, uint64_t requests, Json processes) {
  return Json{{"name", name},
              {"listen", "/run/x.sock"},
              {"mode", "classic"},
              {"pm", "static"},
              {"generation", 1},
              {"busy_threads", 1},
              {"idle_threads", 1},
              {"requests", requests},
              {"slow_requests", 0},
              {"terminated_requests", 3},
              {"max_wait_rejected", 4},
              {"restarts", Json{{"threads", Json{{"crash", 0}}}, {"processes", Json{{"crash", 5}, {"exit", 1}}}}},
              {"health", Json{{"state", "ok"}}},
              {"listen_queue", Json{{"current", 2}, {"limit", 511}}},
              {"processes", std::move(processes)}};
}

Json Reply(Json pools) {
  return Json{{"ok", true},         {"pid", 10},        {"version", "0.1.0"},
              {"php", "8.4.24"},    {"uptime_s", 65.0}, {"ready", true},
              {"stopping", false},  {"generation", 1},  {"pools", std::move(pools)},
              {"previous_generations", Json::array()}};
}

TEST_CASE("TerminalText escapes what could drive the terminal and cuts to a width") {
  // ESC [ 2 J (clear screen), OSC title, a C1 CSI, an invalid byte, a bidi override.
  const std::string hostile = "/a\x1b[2J\x1b]0;owned\x07/b\xc2\x9b" "31m\xff\xe2\x80\xaeZ\\";
  const std::string safe = TerminalText(hostile, 0);
  CHECK(safe == "/a\\x1B[2J\\x1B]0;owned\\x07/b\\xC2\\x9B31m\\xFF\\u{202E}Z\\x5C");
  for (char c : safe) {
    CHECK(static_cast<unsigned char>(c) >= 0x20);
    CHECK(static_cast<unsigned char>(c) < 0x7f);
  }
  CHECK(TerminalText("/index.php", 0) == "/index.php");
  CHECK(TerminalText("/ünïcode", 0) == "/ünïcode");
  CHECK(TerminalText("/abcdefghij", 8) == "/abcd...");
  CHECK(TerminalText("/äöüäöüäöü", 6) == "/äö...");
  CHECK(TerminalText("/abc", 4) == "/abc");
}

TEST_CASE("a status reply with detail is read; a missing or mistyped key is an error naming it") {
  const Json reply = Reply(Json::array(
      {Pool("www", 7, Json::array({Process(100, 7, Json::array({Running(0, 3, 1500, "/slow.php"),
                                                                  Idle(1, 4, 20, "/fast.php"),
                                                                  Thread(2, "Starting", 0)}))}))}));
  auto s = ParseTopSample(reply);
  REQUIRE(s.ok());
  REQUIRE(s->pools.size() == 1);
  const TopPool& p = s->pools[0];
  CHECK(p.name == "www");
  CHECK(p.starting == 1);
  CHECK(p.rejected == 4);
  CHECK(p.terminated == 3);
  CHECK(p.crashes == 5);
  CHECK(*p.listen_queue == 2);
  CHECK(*p.listen_queue_limit == 511);
  REQUIRE(p.processes[0].threads.size() == 3);
  CHECK(p.processes[0].threads[0].uri == "/slow.php");
  CHECK(p.processes[0].threads[1].last_uri == "/fast.php");
  CHECK(*p.processes[0].rss_bytes == 1u << 20);

  Json no_uri = reply;
  no_uri["pools"][0]["processes"][0]["threads"][0].erase("uri");
  auto e = ParseTopSample(no_uri);
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().message() == "status: pools[0].processes[0].threads[0].uri: missing");

  Json bad_rss = reply;
  bad_rss["pools"][0]["processes"][0]["rss_bytes"] = "big";
  e = ParseTopSample(bad_rss);
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().message() == "status: pools[0].processes[0].rss_bytes: not a count or null");

  // A daemon that does not know "detail" (no listen_queue): an error, not 0.
  Json old = reply;
  old["pools"][0].erase("listen_queue");
  e = ParseTopSample(old);
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().message() == "status: pools[0].listen_queue: missing");

  Json unknown = reply;
  unknown["pools"][0]["listen_queue"] = nullptr;
  unknown["pools"][0]["processes"][0]["rss_bytes"] = nullptr;
  s = ParseTopSample(unknown);
  REQUIRE(s.ok());
  CHECK_FALSE(s->pools[0].listen_queue.has_value());
  CHECK_FALSE(s->pools[0].processes[0].rss_bytes.has_value());
}

TEST_CASE("TopHistory: requests per second per process across a reload, busy and recent slowest first") {
  TopHistory history(3);
  auto first = ParseTopSample(Reply(Json::array(
      {Pool("www", 10, Json::array({Process(100, 10, Json::array({Idle(0, 10, 50, "/a")}))})),
       Pool("api", 5, Json::array({Process(200, 5, Json::array({Idle(0, 5, 900, "/api/slow")}))}))})));
  REQUIRE(first.ok());
  TopFrame f = history.Add(*first, 0, "");
  REQUIRE(f.rates.size() == 2);
  CHECK_FALSE(f.rates[0].has_value());
  REQUIRE(f.recent.size() == 2);
  CHECK(f.recent[0].uri == "/api/slow");

  // Two seconds later: www was reloaded (pid 100 draining with 12, new pid
  // 101 with 4), api served 6 more; two threads run.
  Json www = Pool("www", 4, Json::array({Process(101, 4, Json::array({Running(0, 4, 300, "/b"), Idle(1, 0, 0, "")}))}));
  www["processes"][0]["threads"][1] = Thread(1, "Idle", 0);
  Json reply = Reply(Json::array(
      {www, Pool("api", 11, Json::array({Process(200, 11, Json::array({Running(0, 11, 2500, "/api/report")}))}))}));
  Json old = Process(100, 12, Json::array({Idle(0, 12, 70, "/c")}));
  old["pool"] = "www";
  reply["previous_generations"] = Json::array({old});
  auto second = ParseTopSample(reply);
  REQUIRE(second.ok());
  f = history.Add(*second, 2.0, "");
  REQUIRE(f.rates[0].has_value());
  CHECK(*f.rates[0] == doctest::Approx((2 + 4) / 2.0));
  CHECK(*f.rates[1] == doctest::Approx(6 / 2.0));
  REQUIRE(f.busy.size() == 2);
  CHECK(f.busy[0].uri == "/api/report");
  CHECK(f.busy[1].uri == "/b");
  // /c is new (pid 100 thread 0 went from 10 to 12 requests); kept: 3.
  REQUIRE(f.recent.size() == 3);
  CHECK(f.recent[0].uri == "/api/slow");
  CHECK(f.recent[1].uri == "/c");
  CHECK(f.recent[2].uri == "/a");

  // The same sample again records nothing twice; --pool filters.
  f = history.Add(*second, 1.0, "www");
  CHECK(f.busy.size() == 1);
  CHECK(f.recent.size() == 3);
}

TEST_CASE("a frame shows hostile URIs escaped and no control byte at all") {
  auto s = ParseTopSample(Reply(Json::array({Pool(
      "www", 2,
      Json::array({Process(100, 2, Json::array({Running(0, 2, 4200, "/x\x1b[31mred\xc2\x9b"), Idle(1, 1, 9, "/y\x07")}))}))})));
  REQUIRE(s.ok());
  TopHistory history;
  const TopFrame f = history.Add(*s, 0, "");
  RenderOptions o;
  o.clock = "12:00:00";
  const std::string text = RenderFrame(f, o);
  CHECK(text.find("/x\\x1B[31mred\\xC2\\x9B") != std::string::npos);
  CHECK(text.find("/y\\x07") != std::string::npos);
  CHECK(text.find("4.20s") != std::string::npos);
  CHECK(text.find("SLOW CRASHES       RSS\n") != std::string::npos);
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    CHECK((u >= 0x20 || u == '\n'));
    CHECK(u != 0x7f);
  }
  // Cut to a width: no line is longer.
  o.width = 40;
  const std::string narrow = RenderFrame(f, o);
  size_t start = 0;
  while (start < narrow.size()) {
    const size_t nl = narrow.find('\n', start);
    CHECK(nl - start <= 40);
    start = nl + 1;
  }
}

}  // namespace
}  // namespace tfpm::ctl
