#include "config/validate.h"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <cstdlib>

#include "config/load_yaml.h"

namespace tfpm::config {
namespace {

using std::chrono::milliseconds;

// The first error of each config, exactly as reported.
struct BadCase {
  const char* yaml;
  const char* message;
};

constexpr BadCase kBadConfigs[] = {
    // Unknown keys, at every level.
    {"bogus: 1\npools:\n  www:\n    listen: x\n", "tfpm.yaml:1: bogus: unknown key"},
    {"daemon:\n  loglevel: debug\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: daemon.loglevel: unknown key"},
    {"php:\n  inifile: /etc/php.ini\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: php.inifile: unknown key"},
    {"daemon:\n  log_level: notice\n\npools:\n  www:\n    listen: x\n    thraeds: 4\n",
     "tfpm.yaml:7: pools.www.thraeds: unknown key"},
    {"pools:\n  www:\n    listen: x\n    mode: worker\n    worker:\n      scirpt: /a.php\n",
     "tfpm.yaml:6: pools.www.worker.scirpt: unknown key"},
    // Wrong types.
    {"pools:\n  www:\n    listen: x\n    threads: four\n",
     "tfpm.yaml:4: pools.www.threads: expected an integer"},
    {"pools:\n  www:\n    listen: x\n    threads: \"4\"\n",
     "tfpm.yaml:4: pools.www.threads: expected an integer"},
    {"pools:\n  www:\n    listen: x\n    threads:\n",
     "tfpm.yaml:4: pools.www.threads: expected an integer"},
    {"pools:\n  www:\n    listen: x\n    clear_env: maybe\n",
     "tfpm.yaml:4: pools.www.clear_env: expected a boolean (true or false)"},
    {"pools:\n  www:\n    listen: x\n    catch_workers_output: \"true\"\n",
     "tfpm.yaml:4: pools.www.catch_workers_output: expected a boolean (true or false)"},
    {"pools:\n  www:\n    listen: [a, b]\n", "tfpm.yaml:3: pools.www.listen: expected a string"},
    {"daemon: yes\npools:\n  www:\n    listen: x\n", "tfpm.yaml:1: daemon: expected a mapping"},
    {"- a\n- b\n", "tfpm.yaml:1: expected a mapping"},
    {"pools:\n  - www\n", "tfpm.yaml:2: pools: expected a mapping of pool names to pools"},
    {"pools:\n  www: 1\n", "tfpm.yaml:2: pools.www: expected a mapping"},
    {"pools:\n  www:\n    listen: x\n    limit_extensions: .php\n",
     "tfpm.yaml:4: pools.www.limit_extensions: expected a list of strings"},
    {"pools:\n  www:\n    listen: x\n    limit_extensions:\n      - .php\n      - [a]\n",
     "tfpm.yaml:6: pools.www.limit_extensions[1]: expected a string"},
    {"pools:\n  www:\n    listen: x\n    php_value:\n      foo:\n        bar: 1\n",
     "tfpm.yaml:6: pools.www.php_value.foo: expected a scalar value"},
    {"pools:\n  www:\n    listen: x\n    env: [A, B]\n",
     "tfpm.yaml:4: pools.www.env: expected a mapping"},
    {"pools:\n  www:\n    ? [a]\n    : 1\n", "tfpm.yaml:3: pools.www: mapping keys must be scalars"},
    // Integers out of range.
    {"pools:\n  www:\n    listen: x\n    threads: 0\n",
     "tfpm.yaml:4: pools.www.threads: must be >= 1"},
    {"pools:\n  www:\n    listen: x\n    threads: 1025\n",
     "tfpm.yaml:4: pools.www.threads: must be <= 1024"},
    {"pools:\n  www:\n    listen: x\n    processes: 300\n",
     "tfpm.yaml:4: pools.www.processes: must be <= 256"},
    {"pools:\n  www:\n    listen: x\n    processes: -1\n",
     "tfpm.yaml:4: pools.www.processes: must be >= 1"},
    {"pools:\n  www:\n    listen: x\n    threads: 99999999999999999999999\n",
     "tfpm.yaml:4: pools.www.threads: must be <= 1024"},
    {"pools:\n  www:\n    listen: x\n    listen_backlog: 0\n",
     "tfpm.yaml:4: pools.www.listen_backlog: must be >= 1"},
    {"pools:\n  www:\n    listen: x\n    max_requests: -1\n",
     "tfpm.yaml:4: pools.www.max_requests: must be >= 0"},
    // Sizes, durations, modes, enums.
    {"pools:\n  www:\n    listen: x\n    thread_stack_size: 8X\n",
     "tfpm.yaml:4: pools.www.thread_stack_size: expected a size such as 64K, 8M or 1G"},
    {"pools:\n  www:\n    listen: x\n    thread_stack_size: 64K\n",
     "tfpm.yaml:4: pools.www.thread_stack_size: must be >= 256K"},
    {"pools:\n  www:\n    listen: x\n    thread_stack_size: 2G\n",
     "tfpm.yaml:4: pools.www.thread_stack_size: must be <= 1G"},
    {"pools:\n  www:\n    listen: x\n    request_terminate_timeout: 30sec\n",
     "tfpm.yaml:4: pools.www.request_terminate_timeout: expected a duration such as 500ms, 30s, "
     "2m or 1h"},
    {"pools:\n  www:\n    listen: x\n    request_terminate_timeout: -5\n",
     "tfpm.yaml:4: pools.www.request_terminate_timeout: expected a duration such as 500ms, 30s, "
     "2m or 1h"},
    {"pools:\n  www:\n    listen: x\n    request_terminate_timeout: 25h\n",
     "tfpm.yaml:4: pools.www.request_terminate_timeout: must be <= 24h"},
    {"daemon:\n  emergency_restart_threshold: -1\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: daemon.emergency_restart_threshold: must be >= 0"},
    {"daemon:\n  emergency_restart_interval: 25h\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: daemon.emergency_restart_interval: must be <= 24h"},
    {"daemon:\n  startup_probation: 11m\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: daemon.startup_probation: must be <= 10m"},
    {"pools:\n  www:\n    listen: x\n    failure_threshold: -1\n",
     "tfpm.yaml:4: pools.www.failure_threshold: must be >= 0"},
    {"pools:\n  www:\n    listen: x\n    failure_threshold: 1001\n",
     "tfpm.yaml:4: pools.www.failure_threshold: must be <= 1000"},
    {"pools:\n  www:\n    listen: x\n    idle_trim: soon\n",
     "tfpm.yaml:4: pools.www.idle_trim: expected a duration such as 500ms, 30s, 2m or 1h"},
    {"pools:\n  www:\n    listen: x\n    idle_trim: 25h\n",
     "tfpm.yaml:4: pools.www.idle_trim: must be <= 24h"},
    {"pools:\n  www:\n    listen: x\n    failure_window: 50ms\n",
     "tfpm.yaml:4: pools.www.failure_window: must be >= 100ms"},
    {"daemon:\n  control_socket_mode: \"1777\"\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: daemon.control_socket_mode: must be <= 0777"},
    {"daemon:\n  process_control_timeout: 1.5s\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: daemon.process_control_timeout: expected a duration such as 500ms, 30s, 2m "
     "or 1h"},
    {"pools:\n  www:\n    listen: x\n    listen_mode: \"0999\"\n",
     "tfpm.yaml:4: pools.www.listen_mode: expected an octal mode such as \"0660\""},
    {"pools:\n  www:\n    listen: x\n    listen_mode: rw\n",
     "tfpm.yaml:4: pools.www.listen_mode: expected an octal mode such as \"0660\""},
    {"pools:\n  www:\n    listen: x\n    listen_mode: \"1777\"\n",
     "tfpm.yaml:4: pools.www.listen_mode: must be <= 0777"},
    {"daemon:\n  log_level: bogus\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: daemon.log_level: must be one of alert, error, warning, notice, debug"},
    {"pools:\n  www:\n    listen: x\n    mode: fast\n",
     "tfpm.yaml:4: pools.www.mode: must be one of classic, worker"},
    // String constraints.
    {"pools:\n  www:\n    listen: x\n    chdir: var/www\n",
     "tfpm.yaml:4: pools.www.chdir: must be an absolute path"},
    {"pools:\n  www:\n    listen: \"\"\n", "tfpm.yaml:3: pools.www.listen: must not be empty"},
    {"pools:\n  www:\n    listen: x\n    sapi_name: \"\"\n",
     "tfpm.yaml:4: pools.www.sapi_name: must not be empty"},
    // PHP's console SAPIs' names switch on their code paths.
    {"pools:\n  www:\n    listen: x\n    sapi_name: cli\n",
     "tfpm.yaml:4: pools.www.sapi_name: must not be the name of a console SAPI (cli, cli-server, phpdbg, embed, cgi)"},
    {"pools:\n  www:\n    listen: x\n    sapi_name: embed\n",
     "tfpm.yaml:4: pools.www.sapi_name: must not be the name of a console SAPI (cli, cli-server, phpdbg, embed, cgi)"},
    {"pools:\n  www:\n    listen: x\n    sapi_name: cgi\n",
     "tfpm.yaml:4: pools.www.sapi_name: must not be the name of a console SAPI (cli, cli-server, phpdbg, embed, cgi)"},
    {"daemon:\n  control_socket: \"\"\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: daemon.control_socket: must not be empty"},
    {"pools:\n  www:\n    listen: x\n    status_path: status\n",
     "tfpm.yaml:4: pools.www.status_path: must start with '/'"},
    {"pools:\n  www:\n    listen: x\n    limit_extensions: [.php, php5]\n",
     "tfpm.yaml:4: pools.www.limit_extensions[1]: must start with '.'"},
    {"pools:\n  www:\n    listen: x\n    env:\n      A=B: x\n",
     "tfpm.yaml:5: pools.www.env.A=B: must not contain '='"},
    // Duplicates.
    {"pools:\n  www:\n    listen: x\n    threads: 2\n    threads: 3\n",
     "tfpm.yaml:5: pools.www.threads: duplicate key"},
    {"pools:\n  www:\n    listen: x\n  www:\n    listen: y\n", "tfpm.yaml:4: pools.www: duplicate key"},
    {"pools:\n  www:\n    listen: x\n    php_value:\n      a: 1\n      a: 2\n",
     "tfpm.yaml:6: pools.www.php_value.a: duplicate key"},
    {"pools:\n  a:\n    listen: 127.0.0.1:9000\n  b:\n    listen: 127.0.0.1:9000\n",
     "tfpm.yaml:5: pools.b.listen: 127.0.0.1:9000 is already used by pool a"},
    // Pools and required keys.
    {"pools: {}\n", "tfpm.yaml:1: pools: must contain at least one pool"},
    {"pools:\n", "tfpm.yaml:1: pools: must contain at least one pool"},
    {"daemon:\n  log_level: debug\n", "tfpm.yaml:1: pools: is required"},
    {"", "tfpm.yaml:1: pools: is required"},
    {"# only a comment\n", "tfpm.yaml:1: pools: is required"},
    {"pools:\n  \"my pool\":\n    listen: x\n",
     "tfpm.yaml:2: pools.my pool: invalid pool name (allowed: A-Z a-z 0-9 _ . -)"},
    {"pools:\n  www:\n    threads: 2\n", "tfpm.yaml:2: pools.www.listen: is required"},
    // Cross-field rules.
    {"pools:\n  www:\n    listen: x\n    mode: worker\n",
     "tfpm.yaml:4: pools.www.worker.script: is required when mode is worker"},
    {"pools:\n  www:\n    listen: x\n    worker: {}\n    mode: worker\n",
     "tfpm.yaml:4: pools.www.worker.script: is required when mode is worker"},
    {"pools:\n  www:\n    listen: x\n    worker:\n      script: /srv/w.php\n",
     "tfpm.yaml:4: pools.www.worker: is only allowed when mode is worker"},
    {"pools:\n  www:\n    listen: x\n    mode: worker\n    worker:\n      script: w.php\n",
     "tfpm.yaml:6: pools.www.worker.script: must be an absolute path"},
    {"pools:\n  www:\n    listen: x\n    request_slowlog_timeout: 5s\n",
     "tfpm.yaml:4: pools.www.slowlog: is required when request_slowlog_timeout is set"},
    {"pools:\n  www:\n    listen: x\n    status_path: /s\n    ping_path: /s\n",
     "tfpm.yaml:5: pools.www.ping_path: must differ from status_path"},
    // Access log, log_limit, expansion.
    {"pools:\n  www:\n    listen: x\n    access_format: '%R %x'\n",
     "tfpm.yaml:4: pools.www.access_format: Invalid token in the access.format (%x)"},
    {"pools:\n  www:\n    listen: x\n    access_log: /tmp/a\n    access_format: '%{X-A}s'\n",
     "tfpm.yaml:5: pools.www.access_format: embrace is not allowed for modifier %s"},
    {"pools:\n  www:\n    listen: x\n    access_format: '%{HTTP_HOST'\n",
     "tfpm.yaml:4: pools.www.access_format: missing closing embrace in the access.format"},
    {"pools:\n  www:\n    listen: x\n    access_suppress_path: [/ok, ping]\n",
     "tfpm.yaml:4: pools.www.access_suppress_path[1]: must start with '/'"},
    {"daemon:\n  log_limit: 100\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: daemon.log_limit: must be >= 512"},
    {"pools:\n  www:\n    listen: /run/${TFPM_TEST_SURELY_UNSET}/a.sock\n",
     "tfpm.yaml:3: pools.www.listen: environment variable TFPM_TEST_SURELY_UNSET is not set "
     "(${TFPM_TEST_SURELY_UNSET}; use ${TFPM_TEST_SURELY_UNSET:-default} for a default)"},
    {"daemon:\n  error_log: ${TFPM_TEST_SURELY_UNSET\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: daemon.error_log: unterminated ${ (write $${ for a literal ${)"},
    {"pools:\n  www:\n    listen: x\n    threads: ${TFPM_TEST_THREADS_BAD}\n",
     "tfpm.yaml:4: pools.www.threads: expected an integer"},
    // pm (php-fpm's rules, threads as the unit).
    {"pools:\n  www:\n    listen: x\n    pm: sometimes\n",
     "tfpm.yaml:4: pools.www.pm: must be one of static, dynamic, ondemand"},
    {"pools:\n  www:\n    listen: x\n    min_spare_threads: 2\n",
     "tfpm.yaml:4: pools.www.min_spare_threads: is only used when pm is dynamic"},
    {"pools:\n  www:\n    listen: x\n    pm: ondemand\n    start_threads: 2\n",
     "tfpm.yaml:5: pools.www.start_threads: is only used when pm is dynamic"},
    {"pools:\n  www:\n    listen: x\n    idle_timeout: 5s\n",
     "tfpm.yaml:4: pools.www.idle_timeout: is only used when pm is dynamic or ondemand"},
    {"pools:\n  www:\n    listen: x\n    pm: dynamic\n    min_spare_threads: 0\n",
     "tfpm.yaml:5: pools.www.min_spare_threads: must be >= 1"},
    {"pools:\n  www:\n    listen: x\n    pm: dynamic\n    threads: 4\n    min_spare_threads: 5\n",
     "tfpm.yaml:6: pools.www.min_spare_threads: must be <= threads (4)"},
    {"pools:\n  www:\n    listen: x\n    pm: dynamic\n    threads: 4\n    max_spare_threads: 8\n",
     "tfpm.yaml:6: pools.www.max_spare_threads: must be <= threads (4)"},
    {"pools:\n  www:\n    listen: x\n    pm: dynamic\n    min_spare_threads: 3\n    max_spare_threads: 2\n",
     "tfpm.yaml:6: pools.www.max_spare_threads: max_spare_threads (2) must be >= min_spare_threads (3)"},
    {"pools:\n  www:\n    listen: x\n    pm: dynamic\n    threads: 8\n    min_spare_threads: 2\n"
     "    max_spare_threads: 4\n    start_threads: 6\n",
     "tfpm.yaml:8: pools.www.start_threads: must be between min_spare_threads (2) and max_spare_threads (4)"},
    {"pools:\n  www:\n    listen: x\n    pm: ondemand\n    idle_timeout: 0\n",
     "tfpm.yaml:5: pools.www.idle_timeout: must be >= 10ms"},
    // The connection limits (docs/security.md).
    {"pools:\n  www:\n    listen: x\n    max_connections: 0\n",
     "tfpm.yaml:4: pools.www.max_connections: must be >= 1"},
    {"pools:\n  www:\n    listen: x\n    connection_idle_timeout: 0\n",
     "tfpm.yaml:4: pools.www.connection_idle_timeout: must be >= 100ms"},
    {"pools:\n  www:\n    listen: x\n    request_header_timeout: 10ms\n",
     "tfpm.yaml:4: pools.www.request_header_timeout: must be >= 100ms"},
    {"pools:\n  www:\n    listen: x\n    max_params_size: 1K\n",
     "tfpm.yaml:4: pools.www.max_params_size: must be >= 4K"},
    {"pools:\n  www:\n    listen: x\n    max_params: 15\n",
     "tfpm.yaml:4: pools.www.max_params: must be >= 16"},
    {"pools:\n  www:\n    listen: x\n    max_connection_output: 2G\n",
     "tfpm.yaml:4: pools.www.max_connection_output: must be <= 1G"},
    {"pools:\n  www:\n    listen: x\n    user_ini_cache_entries: 0\n",
     "tfpm.yaml:4: pools.www.user_ini_cache_entries: must be >= 1"},
    {"daemon:\n  rlimit_files: 8\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: daemon.rlimit_files: must be >= 16"},
    // Isolation keys.
    {"pools:\n  www:\n    listen: x\n    group: www-data\n",
     "tfpm.yaml:4: pools.www.group: is only used with user"},
    {"pools:\n  www:\n    listen: x\n    user: \"a:b\"\n",
     "tfpm.yaml:4: pools.www.user: must be a user or group name or a numeric id"},
    {"pools:\n  www:\n    listen: x\n    chroot: srv\n", "tfpm.yaml:4: pools.www.chroot: must be an absolute path"},
    {"pools:\n  www:\n    listen: x\n    rlimit_core: lots\n",
     "tfpm.yaml:4: pools.www.rlimit_core: must be a number of bytes (0 = unchanged) or unlimited"},
    {"pools:\n  www:\n    listen: x\n    rlimit_files: 8\n",
     "tfpm.yaml:4: pools.www.rlimit_files: must be 0 (the daemon's) or >= 16"},
    {"pools:\n  www:\n    listen: x\n    process_priority: 21\n",
     "tfpm.yaml:4: pools.www.process_priority: must be <= 20"},
    {"pools:\n  www:\n    listen: x\n    process_dumpable: 1\n",
     "tfpm.yaml:4: pools.www.process_dumpable: expected a boolean (true or false)"},
    {"daemon:\n  process_max: -1\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: daemon.process_max: must be >= 0"},
    {"daemon:\n  rlimit_core: -5\npools:\n  www:\n    listen: x\n",
     "tfpm.yaml:2: daemon.rlimit_core: must be a number of bytes (0 = unchanged) or unlimited"},
    // YAML itself.
    {"pools:\n  www:\n    listen: [x\n    threads: 2\n",
     "tfpm.yaml:4: end of sequence flow not found"},
    {"pools:\n  www:\n    listen: x\n      threads: 2\n", "tfpm.yaml:4: illegal map value"},
    {"pools:\n  www:\n    listen: x\n---\npools: {}\n",
     "tfpm.yaml:5: only one YAML document is allowed"},
    // The first error in file order wins.
    {"pools:\n  a:\n    listen: x\n    threads: 0\n  b:\n    listen: y\n    bogus: 1\n",
     "tfpm.yaml:4: pools.a.threads: must be >= 1"},
    {"pools:\n  www:\n    listen: x\n    bogus: 1\ndaemon:\n  bogus: 2\n",
     "tfpm.yaml:4: pools.www.bogus: unknown key"},
};

TEST_CASE("bad configs report the first error with file:line: key.path") {
  ::setenv("TFPM_TEST_THREADS_BAD", "four", 1);
  CHECK(std::size(kBadConfigs) >= 25);
  for (const BadCase& c : kBadConfigs) {
    CAPTURE(c.yaml);
    Result<Config> config = LoadConfigString(c.yaml, "tfpm.yaml");
    REQUIRE_FALSE(config.ok());
    CHECK(config.status().code() == Status::Code::kInvalidArgument);
    CHECK(config.status().message() == c.message);
  }
}

TEST_CASE("pm keys: php-fpm's defaults for dynamic, every value kept") {
  Result<Config> c = LoadConfigString("pools:\n  www:\n    listen: x\n    pm: dynamic\n    threads: 10\n"
                                      "    min_spare_threads: 2\n", "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  const PoolConfig& p = c->pools[0];
  CHECK(p.pm == ProcessManager::kDynamic);
  CHECK(p.min_spare_threads == 2);
  CHECK(p.max_spare_threads == 10);  // = threads
  CHECK(p.start_threads == 6);       // min + (max - min) / 2
  CHECK(p.idle_timeout == milliseconds(10000));
  c = LoadConfigString("pools:\n  www:\n    listen: x\n    pm: dynamic\n    threads: 8\n    start_threads: 3\n"
                       "    min_spare_threads: 1\n    max_spare_threads: 4\n    idle_timeout: 2s\n", "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->pools[0].start_threads == 3);
  CHECK(c->pools[0].max_spare_threads == 4);
  CHECK(c->pools[0].idle_timeout == milliseconds(2000));
  c = LoadConfigString("pools:\n  www:\n    listen: x\n    pm: ondemand\n    idle_timeout: 250ms\n", "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->pools[0].pm == ProcessManager::kOndemand);
  CHECK(c->pools[0].idle_timeout == milliseconds(250));
  c = LoadConfigString("pools:\n  www:\n    listen: x\n", "tfpm.yaml");
  REQUIRE(c.ok());
  CHECK(c->pools[0].pm == ProcessManager::kStatic);
}

TEST_CASE("worker leak_check keys: off by default, every value kept, bad values named") {
  const std::string head = "pools:\n  www:\n    listen: x\n    mode: worker\n    worker:\n      script: /w.php\n";
  Result<Config> c = LoadConfigString(head, "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->pools[0].worker.leak_check == PoolConfig::Worker::LeakCheck::kOff);
  CHECK(c->pools[0].worker.leak_warmup == 5);
  CHECK(c->pools[0].worker.leak_allow.empty());
  c = LoadConfigString(head + "      leak_check: strict\n      leak_warmup: 0\n      leak_allow: ['A::$b', 'Twig\\*']\n",
                       "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->pools[0].worker.leak_check == PoolConfig::Worker::LeakCheck::kStrict);
  CHECK(c->pools[0].worker.leak_warmup == 0);
  CHECK(c->pools[0].worker.leak_allow == std::vector<std::string>{"A::$b", "Twig\\*"});
  c = LoadConfigString(head + "      leak_check: loud\n", "tfpm.yaml");
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message() == "tfpm.yaml:7: pools.www.worker.leak_check: must be one of off, log, strict");
  c = LoadConfigString(head + "      leak_allow: ['']\n", "tfpm.yaml");
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message().find("pools.www.worker.leak_allow") != std::string::npos);
}

TEST_CASE("idle_trim and busy_trim: 1 s by default, 0 turns them off, values kept") {
  Result<Config> c = LoadConfigString("pools:\n  www:\n    listen: x\n", "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->pools[0].idle_trim == milliseconds(1000));
  CHECK(c->pools[0].busy_trim == milliseconds(1000));
  for (const auto& [text, ms] : {std::pair{"0", 0}, std::pair{"250ms", 250}, std::pair{"30s", 30000}}) {
    CAPTURE(text);
    c = LoadConfigString(std::string("pools:\n  www:\n    listen: x\n    idle_trim: ") + text + "\n", "tfpm.yaml");
    REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    CHECK(c->pools[0].idle_trim == milliseconds(ms));
    c = LoadConfigString(std::string("pools:\n  www:\n    listen: x\n    busy_trim: ") + text + "\n", "tfpm.yaml");
    REQUIRE_MESSAGE(c.ok(), c.status().ToString());
    CHECK(c->pools[0].busy_trim == milliseconds(ms));
  }
  CHECK_FALSE(LoadConfigString("pools:\n  www:\n    listen: x\n    busy_trim: 25h\n", "tfpm.yaml").ok());
}

TEST_CASE("connection limits: protective defaults, every value kept") {
  Result<Config> c = LoadConfigString("pools:\n  www:\n    listen: x\n", "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  const PoolConfig& d = c->pools[0];
  CHECK(d.max_connections == 1024);
  CHECK(d.connection_idle_timeout == milliseconds(75000));  // above nginx's 60 s keepalive_timeout
  CHECK(d.request_header_timeout == milliseconds(30000));
  CHECK(d.max_params_size == 1 << 20);
  CHECK(d.max_params == 10000);
  CHECK(d.max_connection_output == 1 << 20);
  CHECK(d.user_ini_cache_entries == 1024);
  CHECK(c->daemon.rlimit_files == 0);
  CHECK(c->daemon.control_max_clients == 64);
  CHECK(c->daemon.control_timeout == milliseconds(10000));
  c = LoadConfigString("daemon:\n  control_max_clients: 4\n  control_timeout: 500ms\npools:\n  www:\n    listen: x\n",
                       "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->daemon.control_max_clients == 4);
  CHECK(c->daemon.control_timeout == milliseconds(500));
  for (const char* bad : {"control_max_clients: 0", "control_timeout: 50ms"}) {
    CAPTURE(bad);
    CHECK_FALSE(LoadConfigString(std::string("daemon:\n  ") + bad + "\npools:\n  www:\n    listen: x\n", "tfpm.yaml").ok());
  }
  c = LoadConfigString("daemon:\n  rlimit_files: 4096\npools:\n  www:\n    listen: x\n    max_connections: 10\n"
                       "    connection_idle_timeout: 2s\n    request_header_timeout: 500ms\n"
                       "    max_params_size: 64K\n    max_params: 100\n    max_connection_output: 32K\n"
                       "    user_ini_cache_entries: 8\n",
                       "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  const PoolConfig& p = c->pools[0];
  CHECK(c->daemon.rlimit_files == 4096);
  CHECK(p.max_connections == 10);
  CHECK(p.connection_idle_timeout == milliseconds(2000));
  CHECK(p.request_header_timeout == milliseconds(500));
  CHECK(p.max_params_size == 64 * 1024);
  CHECK(p.max_params == 100);
  CHECK(p.max_connection_output == 32 * 1024);
  CHECK(p.user_ini_cache_entries == 8);
}

TEST_CASE("php.ini read limits: protective defaults, values kept, out of range named") {
  Result<Config> c = LoadConfigString("pools:\n  www:\n    listen: x\n", "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->php.ini_max_file_size == 4u << 20);
  CHECK(c->php.ini_max_files == 1000);
  c = LoadConfigString("php:\n  ini_max_file_size: 64K\n  ini_max_files: 20\npools:\n  www:\n    listen: x\n",
                       "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->php.ini_max_file_size == 64 * 1024);
  CHECK(c->php.ini_max_files == 20);
  for (const char* bad : {"ini_max_file_size: 100", "ini_max_file_size: 2G", "ini_max_files: 0"}) {
    CAPTURE(bad);
    Result<Config> r =
        LoadConfigString(std::string("php:\n  ") + bad + "\npools:\n  www:\n    listen: x\n", "tfpm.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("tfpm.yaml:2: php.ini_max_") == 0);
  }
}

TEST_CASE("the same bad config always gives the same message") {
  const char* yaml = "pools:\n  www:\n    listen: x\n    threads: 0\n    processes: 0\n";
  Result<Config> first = LoadConfigString(yaml, "a.yaml");
  Result<Config> second = LoadConfigString(yaml, "a.yaml");
  REQUIRE_FALSE(first.ok());
  REQUIRE_FALSE(second.ok());
  CHECK(first.status().message() == "a.yaml:4: pools.www.threads: must be >= 1");
  CHECK(first.status().message() == second.status().message());
}

TEST_CASE("ParseSize") {
  CHECK(ParseSize("0") == 0u);
  CHECK(ParseSize("8388608") == 8388608u);
  CHECK(ParseSize("64K") == 64u * 1024);
  CHECK(ParseSize("64k") == 64u * 1024);
  CHECK(ParseSize("8M") == 8u << 20);
  CHECK(ParseSize("1G") == 1u << 30);
  CHECK(ParseSize("2g") == uint64_t{2} << 30);
  CHECK_FALSE(ParseSize(""));
  CHECK_FALSE(ParseSize("K"));
  CHECK_FALSE(ParseSize("8MB"));
  CHECK_FALSE(ParseSize("-1"));
  CHECK_FALSE(ParseSize("1.5M"));
  CHECK_FALSE(ParseSize(" 8M"));
  CHECK_FALSE(ParseSize("99999999999999999999"));
  CHECK_FALSE(ParseSize("99999999999G"));
}

TEST_CASE("ParseDuration") {
  CHECK(ParseDuration("0") == milliseconds(0));
  CHECK(ParseDuration("30") == milliseconds(30000));
  CHECK(ParseDuration("500ms") == milliseconds(500));
  CHECK(ParseDuration("30s") == milliseconds(30000));
  CHECK(ParseDuration("2m") == milliseconds(120000));
  CHECK(ParseDuration("1h") == milliseconds(3600000));
  CHECK_FALSE(ParseDuration(""));
  CHECK_FALSE(ParseDuration("s"));
  CHECK_FALSE(ParseDuration("ms"));
  CHECK_FALSE(ParseDuration("1.5s"));
  CHECK_FALSE(ParseDuration("-1s"));
  CHECK_FALSE(ParseDuration("1d"));
  CHECK_FALSE(ParseDuration("1m30s"));
  CHECK_FALSE(ParseDuration("9999999999999999h"));
}

// BuildConfig needs no YAML: a hand-made tree validates the same way.
Node Scalar(std::string key, int line, std::string text, bool plain = true) {
  Node n;
  n.type = Node::Type::kScalar;
  n.key = std::move(key);
  n.key_line = line;
  n.line = line;
  n.text = std::move(text);
  n.plain = plain;
  return n;
}

Node Mapping(std::string key, int line, std::vector<Node> children) {
  Node n;
  n.type = Node::Type::kMapping;
  n.key = std::move(key);
  n.key_line = line;
  n.line = line + 1;
  n.children = std::move(children);
  return n;
}

TEST_CASE("BuildConfig validates a YAML-free tree") {
  Node root = Mapping("", 0, {Mapping("pools", 1, {Mapping("www", 2, {
                                                       Scalar("listen", 3, "9000"),
                                                       Scalar("threads", 4, "16"),
                                                   })})});
  root.line = 1;
  Result<Config> config = BuildConfig(root, "tree");
  REQUIRE(config.ok());
  CHECK(config->source == "tree");
  REQUIRE(config->pools.size() == 1);
  CHECK(config->pools[0].name == "www");
  CHECK(config->pools[0].line == 2);
  CHECK(config->pools[0].listen == "9000");
  CHECK(config->pools[0].threads == 16);

  // A quoted number is a string, not an integer.
  root.children[0].children[0].children[1] = Scalar("threads", 4, "16", /*plain=*/false);
  Result<Config> quoted = BuildConfig(root, "tree");
  REQUIRE_FALSE(quoted.ok());
  CHECK(quoted.status().message() == "tree:4: pools.www.threads: expected an integer");
}

const char* FakeEnv(const char* name) {
  std::string_view n(name);
  if (n == "HOME") return "/home/tfpm";
  if (n == "EMPTY") return "";
  return nullptr;
}

TEST_CASE("ExpandEnvironment: php-fpm's ${VAR}") {
  std::string missing;
  auto expand = [&](std::string_view text) { return ExpandEnvironment(text, FakeEnv, &missing); };
  CHECK(expand("plain") == "plain");
  CHECK(expand("${HOME}/x") == "/home/tfpm/x");
  CHECK(expand("a${HOME}b${HOME}c") == "a/home/tfpmb/home/tfpmc");
  CHECK(expand("[${EMPTY}]") == "[]");
  CHECK(expand("$pool $ $x ${HOME}") == "$pool $ $x /home/tfpm");
  CHECK(expand("${NOPE:-fallback}") == "fallback");
  CHECK(expand("${HOME:-fallback}") == "/home/tfpm");
  CHECK(expand("$${HOME}") == "${HOME}");
  CHECK_FALSE(expand("${NOPE}").has_value());
  CHECK(missing == "NOPE");
  CHECK_FALSE(expand("x${HOME").has_value());
  CHECK(missing.empty());
  CHECK_FALSE(expand("${}").has_value());
}

TEST_CASE("ExpandPoolName: php-fpm's $pool") {
  CHECK(ExpandPoolName("/run/$pool.sock", "www") == "/run/www.sock");
  CHECK(ExpandPoolName("$pool-$pool", "a") == "a-a");
  CHECK(ExpandPoolName("$poo", "a") == "$poo");
  CHECK(ExpandPoolName("", "a").empty());
}

TEST_CASE("the loader expands $pool in pool values and ${VAR} everywhere") {
  ::setenv("TFPM_TEST_ROOT", "/srv/sites", 1);
  ::setenv("TFPM_TEST_THREADS", "3", 1);
  const char* yaml =
      "daemon:\n  error_log: ${TFPM_TEST_ROOT}/error.log\n"
      "pools:\n"
      "  www:\n    listen: /run/$pool.sock\n    threads: ${TFPM_TEST_THREADS}\n"
      "    access_log: ${TFPM_TEST_ROOT}/$pool/access.log\n    slowlog: /var/log/$pool.slow\n"
      "    chdir: ${TFPM_TEST_ROOT}/$pool\n    env: {POOL: $pool}\n    access_suppress_path: [/$pool/ping]\n"
      "  api:\n    listen: /run/$pool.sock\n    php_value: {error_log: /var/log/$pool-php.log}\n";
  Result<Config> config = LoadConfigString(yaml, "tfpm.yaml");
  REQUIRE_MESSAGE(config.ok(), config.status().message());
  CHECK(config->daemon.error_log == "/srv/sites/error.log");
  const PoolConfig& www = config->pools[0];
  CHECK(www.listen == "/run/www.sock");
  CHECK(www.threads == 3);
  CHECK(www.access_log == "/srv/sites/www/access.log");
  CHECK(www.slowlog == "/var/log/www.slow");
  CHECK(www.chdir == "/srv/sites/www");
  REQUIRE(www.env.size() == 1);
  CHECK(www.env[0].second == "www");
  CHECK(www.access_suppress_path == std::vector<std::string>{"/www/ping"});
  const PoolConfig& api = config->pools[1];
  CHECK(api.listen == "/run/api.sock");
  CHECK(api.php_value[0].second == "/var/log/api-php.log");
}

TEST_CASE("access log keys and log_limit: defaults and values") {
  Result<Config> defaults = LoadConfigString("pools:\n  www:\n    listen: x\n", "t.yaml");
  REQUIRE(defaults.ok());
  CHECK(defaults->daemon.log_limit == 1024);
  CHECK(defaults->pools[0].access_log.empty());
  CHECK(defaults->pools[0].access_format == "%R - %u %t \"%m %r\" %s");
  CHECK(defaults->pools[0].access_suppress_path.empty());
  Result<Config> set = LoadConfigString(
      "daemon:\n  log_limit: 4096\npools:\n  www:\n    listen: x\n    access_log: /tmp/x.log\n"
      "    access_format: '%{REMOTE_ADDR}e %m %{mili}d'\n    access_suppress_path: [/ping, /health]\n",
      "t.yaml");
  REQUIRE_MESSAGE(set.ok(), set.status().message());
  CHECK(set->daemon.log_limit == 4096);
  CHECK(set->pools[0].access_format == "%{REMOTE_ADDR}e %m %{mili}d");
  CHECK(set->pools[0].access_suppress_path == std::vector<std::string>{"/ping", "/health"});
}

TEST_CASE("an empty tree lacks pools") {
  Result<Config> config = BuildConfig(Node{}, "x.yaml");
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().message() == "x.yaml:1: pools: is required");
}

TEST_CASE("HideEnvironment: a message never shows the value of an expanded variable") {
  const std::vector<std::pair<std::string, std::string>> used = {
      {"DB_PASSWORD", "s3cr3t"}, {"DIR", "/srv/s3cr3t-app"}, {"EMPTY", ""}};
  CHECK(HideEnvironment("t.yaml:4: pools.www.access_log: /srv/s3cr3t-app/a.log: Permission denied", "t.yaml", used) ==
        "t.yaml:4: pools.www.access_log: ${DIR}/a.log: Permission denied");
  CHECK(HideEnvironment("t.yaml:5: pools.b.listen: s3cr3t is already used by pool a", "t.yaml", used) ==
        "t.yaml:5: pools.b.listen: ${DB_PASSWORD} is already used by pool a");
  // The "<source>:<line>: " prefix is left alone.
  const std::vector<std::pair<std::string, std::string>> digit = {{"N", "4"}};
  CHECK(HideEnvironment("t.yaml:4: pools.www.threads: must be >= 4", "t.yaml", digit) ==
        "t.yaml:4: pools.www.threads: must be >= ${N}");
  CHECK(HideEnvironment("no prefix 4", "t.yaml", digit) == "no prefix ${N}");
}

}  // namespace
}  // namespace tfpm::config

namespace tfpm::config {
namespace {

TEST_CASE("isolation keys: php-fpm's defaults, and values as given") {
  auto c = LoadConfigString("pools:\n  www:\n    listen: x\n", "tfpm.yaml");
  REQUIRE(c.ok());
  const PoolConfig& d = c->pools[0];
  CHECK(d.user.empty());
  CHECK(d.group.empty());
  CHECK(d.chroot.empty());
  CHECK(d.rlimit_files == 0);
  CHECK(d.rlimit_core == 0);
  CHECK(!d.process_dumpable);
  CHECK(!d.process_priority);
  CHECK(c->daemon.rlimit_core == 0);
  CHECK(c->daemon.process_max == 0);
  c = LoadConfigString("daemon:\n  rlimit_core: unlimited\n  process_max: 12\npools:\n  www:\n    listen: x\n"
                       "    user: www-data\n    group: \"33\"\n    chroot: /srv\n    chdir: /public\n"
                       "    rlimit_files: 2048\n    rlimit_core: 1048576\n    process_dumpable: true\n"
                       "    process_priority: -5\n",
                       "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  const PoolConfig& p = c->pools[0];
  CHECK(c->daemon.rlimit_core == kRlimitUnlimited);
  CHECK(c->daemon.process_max == 12);
  CHECK(p.user == "www-data");
  CHECK(p.user_line == 7);
  CHECK(p.group == "33");
  CHECK(p.chroot == "/srv");
  CHECK(p.chroot_line == 9);
  CHECK(p.rlimit_files == 2048);
  CHECK(p.rlimit_core == 1048576);
  CHECK(p.process_dumpable);
  CHECK(p.process_priority == -5);
}

}  // namespace
}  // namespace tfpm::config
