// The pool's request duration and queue wait histograms and its requests
// by status class: summed over the live processes' segments plus the
// totals of exited ones (PoolCounters::Retire), reported in the pool status
// JSON and rendered as OpenMetrics.
#include "scoreboard/request_metrics.h"

#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "supervisor/pool_status.h"

namespace tfpm::supervisor {
namespace {

using nlohmann::json;

struct Board {
  Board(uint32_t threads, int32_t pid) : mem(scoreboard::SegmentSize(threads)) {
    seg().Initialize(threads, pid, 1'000'000);
  }
  scoreboard::Segment seg() { return scoreboard::Segment(mem.data(), mem.size()); }
  void Serve(uint32_t t, int64_t us, int64_t wait_us, int status) {
    scoreboard::SlotWriter w(seg().slot(t));
    scoreboard::SlotWriter::Request r;
    r.wait_us = wait_us;
    w.BeginRequest(10'000'000, 0, r);
    w.EndRequest(10'000'000 + us, 0, status, 0, "");
  }
  std::vector<char> mem;
};

// "name{labels}" -> value of every sample line.
std::map<std::string, std::string> Samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return out;
}

uint64_t Bucket(const json& h, const std::string& le) {
  for (const json& b : h["buckets"]) {
    if (b["le"] == le) return b["count"].get<uint64_t>();
  }
  FAIL("no bucket le=" << le);
  return 0;
}

}  // namespace

TEST_CASE("the histograms sum the live processes and keep those of a process that exited") {
  PoolCounters c;
  Board gone(2, 100), live(2, 200);
  gone.Serve(0, 20'000, 100, 200);
  gone.Serve(1, 600'000, 2'000, 500);
  live.Serve(0, 120'000, 0, 200);
  live.Serve(1, 500, 40'000, 404);
  c.Retire(gone.seg());  // the supervisor reaped process 100

  PoolInfo info;
  info.name = "www";
  const json st = PoolStatus(info, c, {live.seg()}, ListenQueue{}, false, 20'000'000);
  const json& d = st["request_duration_seconds"];
  CHECK(d["count"] == 4);
  CHECK(d["sum"].get<double>() == doctest::Approx(0.7405));
  REQUIRE(d["buckets"].size() == scoreboard::kBucketCount);
  CHECK(Bucket(d, "0.001") == 1);   // 0.5 ms
  CHECK(Bucket(d, "0.01") == 1);
  CHECK(Bucket(d, "0.025") == 2);   // + 20 ms
  CHECK(Bucket(d, "0.1") == 2);
  CHECK(Bucket(d, "0.25") == 3);    // + 120 ms
  CHECK(Bucket(d, "0.5") == 3);
  CHECK(Bucket(d, "1.0") == 4);     // + 600 ms
  CHECK(Bucket(d, "+Inf") == 4);
  const json& w = st["queue_wait_seconds"];
  CHECK(w["count"] == 4);
  CHECK(Bucket(w, "0.001") == 2);
  CHECK(Bucket(w, "0.0025") == 3);
  CHECK(Bucket(w, "0.025") == 3);
  CHECK(Bucket(w, "0.05") == 4);
  CHECK(st["requests_by_status_class"] == json{{"1xx", 0}, {"2xx", 2}, {"3xx", 0}, {"4xx", 1}, {"5xx", 1},
                                               {"other", 0}});

  // A second exit adds to the first: the counts never go back.
  c.Retire(live.seg());
  const json after = PoolStatus(info, c, {}, ListenQueue{}, false, 20'000'000);
  CHECK(after["request_duration_seconds"] == d);
  CHECK(after["queue_wait_seconds"] == w);
}

TEST_CASE("the OpenMetrics rendering is a Prometheus histogram per metric and a counter by status class") {
  PoolCounters c;
  Board b(1, 100);
  b.Serve(0, 20'000, 3'000, 200);
  b.Serve(0, 600'000, 0, 302);
  PoolInfo info;
  const std::string text = scoreboard::RenderRequestMetrics(PoolStatus(info, c, {b.seg()}, ListenQueue{}, false, 0));
  CHECK(text.find("# TYPE tfpm_request_duration_seconds histogram\n") != std::string::npos);
  CHECK(text.find("# TYPE tfpm_queue_wait_seconds histogram\n") != std::string::npos);
  CHECK(text.find("# TYPE tfpm_requests counter\n") != std::string::npos);
  const auto s = Samples(text);
  CHECK(s.at("tfpm_request_duration_seconds_bucket{le=\"0.01\"}") == "0");
  CHECK(s.at("tfpm_request_duration_seconds_bucket{le=\"0.025\"}") == "1");
  CHECK(s.at("tfpm_request_duration_seconds_bucket{le=\"0.5\"}") == "1");
  CHECK(s.at("tfpm_request_duration_seconds_bucket{le=\"1.0\"}") == "2");
  CHECK(s.at("tfpm_request_duration_seconds_bucket{le=\"+Inf\"}") == "2");
  CHECK(s.at("tfpm_request_duration_seconds_count") == "2");
  CHECK(s.at("tfpm_request_duration_seconds_sum") == "0.620000");
  CHECK(s.at("tfpm_queue_wait_seconds_bucket{le=\"0.001\"}") == "1");
  CHECK(s.at("tfpm_queue_wait_seconds_bucket{le=\"0.005\"}") == "2");
  CHECK(s.at("tfpm_queue_wait_seconds_sum") == "0.003000");
  CHECK(s.at("tfpm_requests_total{status_class=\"2xx\"}") == "1");
  CHECK(s.at("tfpm_requests_total{status_class=\"3xx\"}") == "1");
  CHECK(s.at("tfpm_requests_total{status_class=\"5xx\"}") == "0");
  CHECK(s.size() == 2 * (scoreboard::kBucketCount + 2) + scoreboard::kStatusClassCount);
}

TEST_CASE("a garbled status object still renders well-formed histograms") {
  const json bad = {{"request_duration_seconds",
                     {{"buckets", json::array({json{{"le", "0.001"}, {"count", 5}}, json{{"count", 2}}, json("x"),
                                               json{{"count", -3}}})},
                      {"sum", -1.5}}},
                    {"queue_wait_seconds", "nonsense"},
                    {"requests_by_status_class", {{"2xx", "many"}, {"4xx", 3}}}};
  for (const json& st : {bad, json::object(), json::array(), json(nullptr)}) {
    CAPTURE(st.dump());
    const auto s = scoreboard::RenderRequestMetrics(st);
    const auto samples = Samples(s);
    for (const char* name : {"tfpm_request_duration_seconds", "tfpm_queue_wait_seconds"}) {
      uint64_t prev = 0;
      for (std::string_view le : scoreboard::kBucketLabels) {
        const uint64_t n = std::stoull(samples.at(std::string(name) + "_bucket{le=\"" + std::string(le) + "\"}"));
        CHECK(n >= prev);
        prev = n;
      }
      CHECK(samples.at(std::string(name) + "_count") == std::to_string(prev));
      CHECK(std::stod(samples.at(std::string(name) + "_sum")) >= 0.0);
    }
  }
  const auto s = Samples(scoreboard::RenderRequestMetrics(bad));
  CHECK(s.at("tfpm_request_duration_seconds_bucket{le=\"0.001\"}") == "5");
  CHECK(s.at("tfpm_request_duration_seconds_bucket{le=\"+Inf\"}") == "5");  // never below an earlier bucket
  CHECK(s.at("tfpm_requests_total{status_class=\"2xx\"}") == "0");
  CHECK(s.at("tfpm_requests_total{status_class=\"4xx\"}") == "3");
}

}  // namespace tfpm::supervisor
