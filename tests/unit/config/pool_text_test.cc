// PoolConfigText(): the config a pool's worker is handed holds that pool
// only (docs/security.md "Trust boundaries"), and loads to the same pool and
// daemon settings as the whole file.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "config/config.h"
#include "config/default_config.h"
#include "config/load_yaml.h"
#include "source_root.h"

namespace tfpm::config {
namespace {

using testing::SourceRoot;

const PoolConfig& OnlyPool(const Config& c) {
  REQUIRE(c.pools.size() == 1);
  return c.pools[0];
}

const PoolConfig& PoolNamed(const Config& c, const std::string& name) {
  for (const auto& p : c.pools) {
    if (p.name == name) return p;
  }
  FAIL("no pool " << name);
  return c.pools.front();
}

// The settings a worker uses, compared one by one.
void CheckSamePool(const PoolConfig& a, const PoolConfig& b, bool same_lines) {
  CHECK(a.name == b.name);
  if (same_lines) CHECK(a.line == b.line);
  CHECK(a.listen == b.listen);
  CHECK(a.listen_mode == b.listen_mode);
  CHECK(a.processes == b.processes);
  CHECK(a.threads == b.threads);
  CHECK(a.mode == b.mode);
  CHECK(a.pm == b.pm);
  CHECK(a.max_requests == b.max_requests);
  CHECK(a.php_value == b.php_value);
  CHECK(a.php_admin_value == b.php_admin_value);
  CHECK(a.env == b.env);
  CHECK(a.clear_env == b.clear_env);
  CHECK(a.limit_extensions == b.limit_extensions);
  CHECK(a.catch_workers_output == b.catch_workers_output);
  CHECK(a.chdir == b.chdir);
  CHECK(a.user == b.user);
  if (same_lines) CHECK(a.user_line == b.user_line);
  CHECK(a.request_terminate_timeout == b.request_terminate_timeout);
  CHECK(a.access_format == b.access_format);
  CHECK(a.status_path == b.status_path);
  CHECK(a.ping_response == b.ping_response);
  CHECK(a.worker_script == b.worker_script);
  CHECK(a.worker.watch == b.worker.watch);
  CHECK(a.max_params_size == b.max_params_size);
}

void CheckSameDaemon(const Config& a, const Config& b) {
  CHECK(a.daemon.error_log == b.daemon.error_log);
  CHECK(a.daemon.control_socket == b.daemon.control_socket);
  CHECK(a.daemon.control_socket_mode == b.daemon.control_socket_mode);
  CHECK(a.daemon.log_limit == b.daemon.log_limit);
  CHECK(a.php.ini_file == b.php.ini_file);
  CHECK(a.php.ini == b.php.ini);
}

// Every pool of `text`: its text loads to the same pool, alone (on the same
// lines, for block style).
void CheckEveryPool(const std::string& text, bool same_lines = true) {
  auto whole = LoadConfigString(text, "t.yaml");
  REQUIRE_MESSAGE(whole.ok(), whole.status().message());
  for (const auto& p : whole->pools) {
    CAPTURE(p.name);
    auto reduced = PoolConfigText(text, "t.yaml", p.name);
    REQUIRE_MESSAGE(reduced.ok(), reduced.status().message());
    CAPTURE(*reduced);
    auto one = LoadConfigString(*reduced, "t.yaml");
    REQUIRE_MESSAGE(one.ok(), one.status().message());
    CheckSamePool(OnlyPool(*one), p, same_lines);
    CheckSameDaemon(*one, *whole);
    // Reducing again changes nothing.
    auto again = PoolConfigText(*reduced, "t.yaml", p.name);
    REQUIRE(again.ok());
    CHECK(*again == *reduced);
  }
}

constexpr const char* kTwoPools = R"(# two sites
daemon:
  error_log: stderr
  control_socket: /run/t/ctl.sock
  control_socket_mode: "0600"
php:
  ini:
    display_errors: off
    error_reporting: "E_ALL & ~E_DEPRECATED"
pools:
  a:
    listen: /run/t/a.sock
    user: www-data
    threads: 2
    env:
      APP: "a: one # not a comment"
      DB: 'single ''quoted'''
    php_value:
      memory_limit: 64M
      short_open_tag: on
      quoted_on: "on"
    limit_extensions: [.php, .phtml]
    access_format: "%R - %u \"%m %r\" %s"
  b:
    listen: 127.0.0.1:9001
    user: nobody
    env:
      B_SECRET: hunter2-of-pool-b
      MULTI: >
        folded
        text
      LITERAL: |
        line one
        line two
      TABS: "a\tb\x01c"
      EMPTY: ""
    status_path: /status
    max_requests: 500
)";

TEST_CASE("a pool's config text holds that pool only") {
  auto a = PoolConfigText(kTwoPools, "t.yaml", "a");
  REQUIRE(a.ok());
  CHECK(a->find("pools:") != std::string::npos);
  CHECK(a->find("/run/t/a.sock") != std::string::npos);
  CHECK(a->find("hunter2-of-pool-b") == std::string::npos);
  CHECK(a->find("B_SECRET") == std::string::npos);
  CHECK(a->find("127.0.0.1:9001") == std::string::npos);
  auto b = PoolConfigText(kTwoPools, "t.yaml", "b");
  REQUIRE(b.ok());
  CHECK(b->find("hunter2-of-pool-b") != std::string::npos);
  CHECK(b->find("/run/t/a.sock") == std::string::npos);
  CHECK(b->find("www-data") == std::string::npos);
  // The daemon's settings are in both.
  CHECK(a->find("/run/t/ctl.sock") != std::string::npos);
  CHECK(b->find("/run/t/ctl.sock") != std::string::npos);
}

TEST_CASE("a pool's config text loads to the same settings, on the same lines") {
  CheckEveryPool(kTwoPools);
  // Plain stays plain (a bool), quoted stays a string.
  const auto a_text = PoolConfigText(kTwoPools, "t.yaml", "a");
  REQUIRE(a_text.ok());
  auto a = LoadConfigString(a_text.value(), "t.yaml");
  REQUIRE(a.ok());
  CHECK(OnlyPool(*a).php_value.size() == 3);
  auto whole = LoadConfigString(kTwoPools, "t.yaml");
  REQUIRE(whole.ok());
  CHECK(OnlyPool(*a).php_value == PoolNamed(*whole, "a").php_value);
  // The lines of keys that are kept do not move: a later message about
  // b.user names line 26 of the file, as before.
  const auto b_text = PoolConfigText(kTwoPools, "t.yaml", "b");
  REQUIRE(b_text.ok());
  auto b = LoadConfigString(b_text.value(), "t.yaml");
  REQUIRE(b.ok());
  CHECK(OnlyPool(*b).line == 24);
  CHECK(OnlyPool(*b).user_line == 26);
}

TEST_CASE("flow style, ${VAR} and $pool survive the reduction") {
  CheckEveryPool(R"(daemon: {control_socket: /run/t/ctl.sock}
pools: {x: {listen: /run/t/x.sock, env: {K: "${HOME}", L: "$${literal}"}, chdir: /srv/$pool},
        y: {listen: /run/t/y.sock, env: {S: secret-y}}}
)",
                 /*same_lines=*/false);
  auto x = PoolConfigText("pools: {x: {listen: /run/t/x.sock, env: {K: \"${HOME}\"}}, y: {listen: /run/y, env: "
                          "{S: secret-y}}}\n",
                          "t.yaml", "x");
  REQUIRE(x.ok());
  CHECK(x->find("${HOME}") != std::string::npos);  // expanded by the worker, as before
  CHECK(x->find("secret-y") == std::string::npos);
}

TEST_CASE("the shipped configs reduce to each of their pools") {
  CheckEveryPool(EmbeddedDefaultConfig());
  std::ifstream in(SourceRoot() + "/conf/tfpm.yaml");
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  CheckEveryPool(ss.str());
}

TEST_CASE("a pool that is not there is an error") {
  auto none = PoolConfigText(kTwoPools, "t.yaml", "c");
  CHECK_FALSE(none.ok());
  CHECK(none.status().message() == "t.yaml: no pool c");
}

}  // namespace
}  // namespace tfpm::config
