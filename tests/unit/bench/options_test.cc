#include "tools/fcgi-bench/options.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/fcgi-bench/report.h"

namespace tfpm::bench {
namespace {

Result<Options> Parse(std::vector<std::string> args) { return ParseOptions(args); }

TEST_CASE("ParseOptions: a full command line") {
  auto o = Parse({"--unix", "/run/x.sock", "-c", "32", "-t", "2", "-k", "-d", "5", "-w", "1",
                  "--timeout", "2.5", "--idle-conns", "8", "--idle-mode", "silent",
                  "--script", "/srv/a.php", "--query", "x=1", "--method", "POST",
                  "-H", "Content-Type: text/plain", "--param", "APP=1", "--body-file", "/tmp/b",
                  "--expect-status", "201", "--expect-sha256",
                  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                  "--expect-body-contains", "ok", "--json"});
  REQUIRE_MESSAGE(o.ok(), o.status().message());
  CHECK(o->unix_path == "/run/x.sock");
  CHECK(o->connections == 32);
  CHECK(o->threads == 2);
  CHECK(o->keep_conn);
  CHECK(o->duration_s == 5);
  CHECK(o->warmup_s == 1);
  CHECK(o->timeout_s == 2.5);
  CHECK(o->idle_conns == 8);
  CHECK(o->idle_mode == IdleMode::kSilent);
  CHECK(o->request.script == "/srv/a.php");
  CHECK(o->request.query == "x=1");
  CHECK(o->request.method == "POST");
  REQUIRE(o->request.headers.size() == 1);
  CHECK(o->request.headers[0].second == "text/plain");
  REQUIRE(o->request.extra_params.size() == 1);
  CHECK(o->body_file == "/tmp/b");
  CHECK(o->expect.status == 201);
  CHECK(o->expect.sha256_hex.has_value());
  CHECK(o->expect.body_contains == "ok");
  CHECK(o->json);
}

TEST_CASE("ParseOptions: defaults, --name=value, threads capped by connections") {
  auto o = Parse({"--tcp=127.0.0.1:9000", "--script=/a.php", "-t", "8", "-c", "3", "-n", "100"});
  REQUIRE_MESSAGE(o.ok(), o.status().message());
  CHECK(o->tcp == "127.0.0.1:9000");
  CHECK(o->threads == 3);
  CHECK(o->requests == 100);
  CHECK_FALSE(o->keep_conn);
  CHECK(o->expect.status == 200);
  CHECK(o->idle_mode == IdleMode::kKept);
  CHECK(o->idle_conns == 0);
}

TEST_CASE("ParseOptions: errors") {
  CHECK_FALSE(Parse({"--script", "/a.php"}).ok());                              // no target
  CHECK_FALSE(Parse({"--unix", "/s", "--tcp", "h:1", "--script", "/a"}).ok());  // two targets
  CHECK_FALSE(Parse({"--unix", "/s"}).ok());                                    // no request
  CHECK_FALSE(Parse({"--unix", "/s", "--script", "/a", "-c", "0"}).ok());
  CHECK_FALSE(Parse({"--unix", "/s", "--script", "/a", "-c", "x"}).ok());
  CHECK_FALSE(Parse({"--unix", "/s", "--script", "/a", "-d", "-1"}).ok());
  CHECK_FALSE(Parse({"--unix", "/s", "--script", "/a", "-d", "1", "-n", "5"}).ok());
  CHECK_FALSE(Parse({"--unix", "/s", "--script", "/a", "--expect-sha256", "abc"}).ok());
  CHECK_FALSE(Parse({"--unix", "/s", "--script", "/a", "--expect-status", "42"}).ok());
  CHECK_FALSE(Parse({"--unix", "/s", "--script", "/a", "--idle-mode", "busy"}).ok());
  CHECK_FALSE(Parse({"--unix", "/s", "--script", "/a", "-H", "nocolon"}).ok());
  CHECK_FALSE(Parse({"--unix", "/s", "--script", "/a", "--keep-conn=1"}).ok());
  CHECK_FALSE(Parse({"--unix", "/s", "--script"}).ok());  // missing value
  auto unknown = Parse({"--unix", "/s", "--script", "/a", "--bogus"});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().find("--bogus") != std::string::npos);
  auto help = Parse({"--help"});
  REQUIRE(help.ok());
  CHECK(help->help);
  CHECK(Usage().find("--idle-mode") != std::string::npos);
}

TEST_CASE("FormatJson: one object with the documented keys") {
  Options o;
  o.connections = 4;
  o.threads = 2;
  o.keep_conn = true;
  o.idle_conns = 2;
  RunReport r;
  r.target = "unix:/s";
  r.measured_s = 2;
  r.stats.latency_ns.Record(1000);
  r.stats.latency_ns.Record(3000);
  r.stats.ok = 2;
  r.stats.errors[ErrorKindIndex(ErrorKind::kTimeout)] = 1;
  r.stats.first_error[ErrorKindIndex(ErrorKind::kTimeout)] = "slow \xff";  // invalid UTF-8
  r.idle.requested = 2;
  r.idle.answered = 2;
  const std::string text = FormatJson(o, r);
  REQUIRE(text.back() == '\n');
  const auto j = nlohmann::json::parse(text);
  CHECK(j["mode"] == "keep-conn");
  CHECK(j["requests"] == 2);
  CHECK(j["rps"] == 1.0);
  CHECK(j["error_total"] == 1);
  CHECK(j["errors"]["timeout"] == 1);
  CHECK(j["errors"]["connect"] == 0);
  CHECK(j["first_errors"].contains("timeout"));
  CHECK_FALSE(j["first_errors"].contains("connect"));
  CHECK(j["latency_us"]["max"] == 3.0);
  CHECK(j["latency_us"]["min"] == 1.0);
  CHECK(j["latency_us"]["p50"] == 1.001);  // top of the 2-ns-wide bucket of 1000
  CHECK(j["idle"]["answered"] == 2);
  const std::string human = FormatText(o, r);
  CHECK(human.find("timeout 1") != std::string::npos);
  CHECK(human.find("first timeout error: slow") != std::string::npos);
}

}  // namespace
}  // namespace tfpm::bench
