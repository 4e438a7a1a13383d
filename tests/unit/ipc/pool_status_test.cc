// The pool status between supervisor and worker (ipc/pool_status.h): what
// ToJson writes FromJson reads back unchanged, and a missing or mistyped key
// is an error that names it, not a 0.
#include "ipc/pool_status.h"

#include <doctest/doctest.h>

#include <string>

using namespace tfpm;
using Json = nlohmann::json;

namespace {

ipc::PoolStatus Sample(bool full) {
  ipc::PoolStatus s;
  s.pool = "www";
  s.process_manager = "dynamic";
  s.start_time = 1700000000;
  s.accepted_conn = 1;
  s.listen_queue = 2;
  s.max_listen_queue = 3;
  s.listen_queue_len = 4;
  s.idle_processes = 5;
  s.active_processes = 6;
  s.max_active_processes = 7;
  s.max_children_reached = 8;
  s.slow_requests = 9;
  s.memory_peak = 10;
  s.terminated_requests = 11;
  s.rejected_requests = 12;
  s.process_recycles_max_requests = 13;
  s.process_recycles_memory = 14;
  s.memory_recycles = 15;
  for (size_t i = 0; i < scoreboard::kLimitCount; ++i) s.limits[i] = 100 + i;
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) s.restarts[i] = 200 + i;
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) s.process_restarts[i] = 300 + i;
  s.state_leaks = 16;
  s.idle_trims = 18;
  s.worker_processes = 2;
  s.resident_bytes = 17000000;
  s.resident_bytes_max = 9000000;
  s.full = full;
  if (full) {
    ipc::ThreadRow r;
    r.pid = 4242;
    r.thread = 3;
    r.state = "Running";
    r.start_time = 1700000001;
    r.requests = 17;
    r.process_start_time = 1700000000;
    r.process_requests = 18;
    r.request_duration = 19;
    r.request_method = "POST";
    r.request_uri = "/a \"b\" <c>";
    r.query_string = "x=1&y=\xc3\xa9";
    r.content_length = 20;
    r.user = "alice";
    r.script = "/srv/index.php";
    r.last_request_cpu = 12.5;
    r.last_request_memory = 21;
    s.processes.push_back(r);
    r.thread = 4;
    r.state = "Idle";
    r.user.clear();
    s.processes.push_back(r);
  }
  return s;
}

}  // namespace

TEST_CASE("ToJson then FromJson gives back the same status, with and without rows") {
  for (bool full : {false, true}) {
    const ipc::PoolStatus s = Sample(full);
    const Json j = ipc::ToJson(s);
    CHECK(j.contains("processes") == full);
    auto back = ipc::FromJson(j);
    REQUIRE_MESSAGE(back.ok(), back.status().message());
    CHECK(*back == s);
    // Through the bytes the supervisor sends.
    auto text = ipc::FromJsonText(j.dump());
    REQUIRE(text.ok());
    CHECK(*text == s);
  }
}

TEST_CASE("the JSON keys are the ones the status JSON always had") {
  const Json j = ipc::ToJson(Sample(true));
  for (const char* key : {"pool", "process_manager", "start_time", "accepted_conn", "listen_queue",
                          "max_listen_queue", "listen_queue_len", "idle_processes", "active_processes",
                          "max_active_processes", "max_children_reached", "slow_requests", "memory_peak",
                          "terminated_requests", "rejected_requests", "process_recycles_max_requests",
                          "process_recycles_memory", "memory_recycles", "connections_refused", "restarts_crash",
                          "process_restarts_crash", "process_restarts_reload", "state_leaks", "idle_trims", "worker_processes",
                          "resident_bytes", "resident_bytes_max"}) {
    CHECK_MESSAGE(j.contains(key), key);
  }
  CHECK(j["connections_refused"] == 100);
  CHECK(j["restarts_crash"] == 200);
  CHECK(j["process_restarts_crash"] == 300);
  CHECK(j["process_restarts_max_requests"] == 302);
  CHECK(j["process_restarts_reload"] == 305);
  CHECK(j["idle_trims"] == 18);
  CHECK(j["processes"][0]["request_uri"] == "/a \"b\" <c>");
}

TEST_CASE("every missing key is an error that names it") {
  const Json whole = ipc::ToJson(Sample(true));
  for (const auto& [key, value] : whole.items()) {
    if (key == "processes") continue;  // optional: its absence means "not full"
    Json j = whole;
    j.erase(key);
    auto r = ipc::FromJson(j);
    REQUIRE_MESSAGE(!r.ok(), key);
    CHECK(r.status().message() == "pool status: " + key + ": missing");
  }
  for (const auto& [key, value] : whole["processes"][1].items()) {
    Json j = whole;
    j["processes"][1].erase(key);
    auto r = ipc::FromJson(j);
    REQUIRE_MESSAGE(!r.ok(), key);
    CHECK(r.status().message() == "pool status: processes[1]." + key + ": missing");
  }
}

TEST_CASE("a mistyped key is an error, not a 0") {
  Json j = ipc::ToJson(Sample(false));
  j["accepted_conn"] = "12";
  auto r = ipc::FromJson(j);
  REQUIRE(!r.ok());
  CHECK(r.status().message() == "pool status: accepted_conn: not an unsigned integer");
  j = ipc::ToJson(Sample(false));
  j["idle_processes"] = -1;
  CHECK(!ipc::FromJson(j).ok());
  j = ipc::ToJson(Sample(false));
  j["pool"] = 7;
  CHECK(ipc::FromJson(j).status().message() == "pool status: pool: not a string");
  j = ipc::ToJson(Sample(true));
  j["processes"][0]["last_request_cpu"] = "high";
  CHECK(ipc::FromJson(j).status().message() == "pool status: processes[0].last_request_cpu: not a number");
  j = ipc::ToJson(Sample(true));
  j["processes"] = Json::object();
  CHECK(ipc::FromJson(j).status().message() == "pool status: processes: not an array");
  j["processes"] = Json::array({1});
  CHECK(ipc::FromJson(j).status().message() == "pool status: processes[0]: not an object");
  CHECK(!ipc::FromJson(Json::array()).ok());
  CHECK(!ipc::FromJsonText("{\"pool\":").ok());
  CHECK(!ipc::FromJsonText("").ok());
}
