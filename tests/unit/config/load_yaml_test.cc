#include "config/load_yaml.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "config/config.h"
#include "config/default_config.h"
#include "source_root.h"

namespace tfpm::config {
namespace {

using std::chrono::milliseconds;

using testing::SourceRoot;

// A file under /tmp removed at scope exit.
class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char name[] = "/tmp/tfpm_config_test_XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    path_ = name;
    REQUIRE(::write(fd, contents.data(), contents.size()) ==
            static_cast<ssize_t>(contents.size()));
    ::close(fd);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Every field of a pool that only the defaults filled (everything but
// name, line and listen).
void CheckPoolDefaults(const PoolConfig& p) {
  const PoolConfig d;
  CHECK(p.listen_mode == d.listen_mode);
  CHECK(p.listen_mode == 0660u);
  CHECK(p.listen_owner == d.listen_owner);
  CHECK(p.listen_group == d.listen_group);
  CHECK(p.listen_backlog == 511);
  CHECK(p.processes == 1);
  CHECK(p.threads == 4);
  CHECK(p.mode == PoolMode::kClassic);
  CHECK(p.max_requests == 0u);
  CHECK(p.php_value.empty());
  CHECK(p.php_admin_value.empty());
  CHECK(p.env.empty());
  CHECK(p.clear_env == true);
  CHECK(p.limit_extensions == std::vector<std::string>{".php"});
  CHECK(p.catch_workers_output == false);
  CHECK(p.decorate_workers_output == true);
  CHECK(p.chdir.empty());
  CHECK(p.sapi_name == "fpm-fcgi");
  CHECK(p.thread_stack_size == size_t{8} << 20);
  CHECK(p.worker_script.empty());
  CHECK(p.request_terminate_timeout == milliseconds(0));
  CHECK(p.request_slowlog_timeout == milliseconds(0));
  CHECK(p.slowlog.empty());
  CHECK(p.access_log.empty());
  CHECK(p.status_path.empty());
  CHECK(p.ping_path.empty());
  CHECK(p.ping_response == "pong");
  CHECK(p.failure_threshold == 5);
  CHECK(p.failure_window == milliseconds(10000));
  CHECK(p.max_connections == 1024);
  CHECK(p.connection_idle_timeout == milliseconds(75000));
  CHECK(p.request_header_timeout == milliseconds(30000));
  CHECK(p.max_params_size == 1u << 20);
  CHECK(p.max_params == 10000);
  CHECK(p.max_connection_output == 1u << 20);
}

void CheckDaemonDefaults(const DaemonConfig& d) {
  CHECK(d.error_log == "stderr");
  CHECK(d.log_level == LogLevel::kNotice);
  CHECK(d.pid_file.empty());
  CHECK(d.control_socket == "/run/tfpm/tfpm.sock");
  CHECK(d.process_control_timeout == milliseconds(10000));
  CHECK(d.control_socket_mode == 0600);
  CHECK(d.control_socket_owner.empty());
  CHECK(d.control_socket_group.empty());
  CHECK(d.emergency_restart_threshold == 0);
  CHECK(d.emergency_restart_interval == milliseconds(0));
  CHECK(d.startup_probation == milliseconds(1000));
  CHECK(d.rlimit_files == 0);
}

TEST_CASE("the embedded default config loads") {
  Result<Config> config = LoadConfigString(EmbeddedDefaultConfig(), kBuiltInSourceName);
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  CHECK(config->source == "<built-in>");
  // The built-in config runs as a daemon: it logs to a file and writes a pid file.
  CHECK(config->daemon.error_log == "/var/log/tfpm/error.log");
  CHECK(config->daemon.pid_file == "/run/tfpm/tfpm.pid");
  CHECK(config->daemon.control_socket == "/run/tfpm/tfpm.sock");
  CHECK(!config->php.ini_file.has_value());
  CHECK(config->php.ini == KeyValues{{"memory_limit", "128M"}});
  REQUIRE(config->pools.size() == 1);
  const PoolConfig& www = config->pools[0];
  CHECK(www.name == "www");
  CHECK(www.listen == "127.0.0.1:9000");
  CheckPoolDefaults(www);
}

TEST_CASE("conf/tfpm.yaml loads and shows the defaults") {
  const std::string path = SourceRoot() + "/conf/tfpm.yaml";
  Result<Config> config = LoadConfigFile(path);
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  CHECK(config->source == path);
  CheckDaemonDefaults(config->daemon);
  CHECK(!config->php.ini_file.has_value());
  CHECK(config->php.ini.empty());
  REQUIRE(config->pools.size() == 1);
  CHECK(config->pools[0].name == "www");
  CHECK(config->pools[0].listen == "/run/tfpm/www.sock");
  CHECK(config->pools[0].line > 1);
  CheckPoolDefaults(config->pools[0]);
}

TEST_CASE("a minimal pool gets every default") {
  Result<Config> config = LoadConfigString("pools:\n  www:\n    listen: 9000\n", "min.yaml");
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  CheckDaemonDefaults(config->daemon);
  REQUIRE(config->pools.size() == 1);
  CHECK(config->pools[0].listen == "9000");  // a YAML integer, kept as written
  CHECK(config->pools[0].line == 2);
  CheckPoolDefaults(config->pools[0]);
}

TEST_CASE("every key is parsed") {
  const char* yaml = R"(daemon:
  error_log: /var/log/tfpm.log
  log_level: debug
  pid_file: /run/tfpm.pid
  control_socket: /tmp/ctl.sock
  process_control_timeout: 1500ms
  control_socket_mode: "0660"
  control_socket_owner: root
  control_socket_group: adm
  emergency_restart_threshold: 10
  emergency_restart_interval: 1m
  startup_probation: 250ms
php:
  ini_file: /etc/php/php.ini
  ini:
    memory_limit: 256M
    display_errors: false
    opcache.enable: true
    precision: 14
pools:
  app:
    listen: "[::1]:9001"
    listen_mode: "0640"
    listen_owner: www-data
    listen_group: www-data
    listen_backlog: 1024
    processes: 4
    threads: 32
    mode: worker
    worker:
      script: /srv/app/worker.php
    max_requests: 10000
    php_value:
      session.save_path: /tmp
      short_open_tag: On
      error_reporting: 32767
      empty:
    php_admin_value:
      expose_php: false
      allow_url_fopen: "false"
    env:
      DEBUG: true
      COUNT: 010
      PATH: /usr/bin:/bin
    clear_env: no
    limit_extensions: [.php, .phtml]
    catch_workers_output: yes
    decorate_workers_output: false
    chdir: /srv/app
    sapi_name: tfpm
    thread_stack_size: 512K
    request_terminate_timeout: 30
    request_slowlog_timeout: 2m
    slowlog: /var/log/slow.log
    access_log: /var/log/access.log
    status_path: /status
    ping_path: /ping
    ping_response: ok
    failure_threshold: 3
    failure_window: 30s
  second:
    listen: 660
    listen_mode: 600
    limit_extensions: []
    thread_stack_size: 1048576
    request_terminate_timeout: 1h
)";
  Result<Config> config = LoadConfigString(yaml, "full.yaml");
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  const DaemonConfig& d = config->daemon;
  CHECK(d.error_log == "/var/log/tfpm.log");
  CHECK(d.log_level == LogLevel::kDebug);
  CHECK(d.pid_file == "/run/tfpm.pid");
  CHECK(d.control_socket == "/tmp/ctl.sock");
  CHECK(d.process_control_timeout == milliseconds(1500));
  CHECK(d.control_socket_mode == 0660);
  CHECK(d.control_socket_owner == "root");
  CHECK(d.control_socket_group == "adm");
  CHECK(d.emergency_restart_threshold == 10);
  CHECK(d.emergency_restart_interval == milliseconds(60000));
  CHECK(d.startup_probation == milliseconds(250));
  CHECK(config->php.ini_file == "/etc/php/php.ini");
  CHECK(!config->php.scan_dir.has_value());
  CHECK(config->php.ini == KeyValues{{"memory_limit", "256M"},
                                     {"display_errors", "0"},
                                     {"opcache.enable", "1"},
                                     {"precision", "14"}});

  REQUIRE(config->pools.size() == 2);
  const PoolConfig& p = config->pools[0];
  CHECK(p.name == "app");
  CHECK(p.line == 21);
  CHECK(p.listen == "[::1]:9001");
  CHECK(p.listen_mode == 0640u);
  CHECK(p.listen_owner == "www-data");
  CHECK(p.listen_group == "www-data");
  CHECK(p.listen_backlog == 1024);
  CHECK(p.processes == 4);
  CHECK(p.threads == 32);
  CHECK(p.mode == PoolMode::kWorker);
  CHECK(p.worker_script == "/srv/app/worker.php");
  CHECK(p.max_requests == 10000u);
  // Order as in the file; YAML booleans become "1"/"0" for INI values.
  CHECK(p.php_value == KeyValues{{"session.save_path", "/tmp"},
                                 {"short_open_tag", "1"},
                                 {"error_reporting", "32767"},
                                 {"empty", ""}});
  // A quoted "false" is a string and stays as written.
  CHECK(p.php_admin_value == KeyValues{{"expose_php", "0"}, {"allow_url_fopen", "false"}});
  // env keeps every scalar's text, booleans and leading zeros included.
  CHECK(p.env == KeyValues{{"DEBUG", "true"}, {"COUNT", "010"}, {"PATH", "/usr/bin:/bin"}});
  CHECK(p.clear_env == false);
  CHECK(p.limit_extensions == std::vector<std::string>{".php", ".phtml"});
  CHECK(p.catch_workers_output == true);
  CHECK(p.decorate_workers_output == false);
  CHECK(p.chdir == "/srv/app");
  CHECK(p.sapi_name == "tfpm");
  CHECK(p.thread_stack_size == 512u * 1024);
  CHECK(p.request_terminate_timeout == milliseconds(30000));  // plain integer = seconds
  CHECK(p.request_slowlog_timeout == milliseconds(120000));
  CHECK(p.slowlog == "/var/log/slow.log");
  CHECK(p.access_log == "/var/log/access.log");
  CHECK(p.status_path == "/status");
  CHECK(p.ping_path == "/ping");
  CHECK(p.ping_response == "ok");
  CHECK(p.failure_threshold == 3);
  CHECK(p.failure_window == milliseconds(30000));

  const PoolConfig& s = config->pools[1];
  CHECK(s.name == "second");
  CHECK(s.line == 61);
  CHECK(s.listen == "660");
  CHECK(s.listen_mode == 0600u);  // always octal, even unquoted
  CHECK(s.limit_extensions.empty());
  CHECK(s.thread_stack_size == 1048576u);
  CHECK(s.request_terminate_timeout == milliseconds(3600000));
}

TEST_CASE("pools keep file order and allowed names") {
  Result<Config> config = LoadConfigString(
      "pools:\n  z-last:\n    listen: a\n  A_1.b:\n    listen: b\n  m:\n    listen: c\n", "o");
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  REQUIRE(config->pools.size() == 3);
  CHECK(config->pools[0].name == "z-last");
  CHECK(config->pools[1].name == "A_1.b");
  CHECK(config->pools[2].name == "m");
  CHECK(config->pools[2].line == 6);
}

TEST_CASE("empty sections and null strings take defaults") {
  Result<Config> config = LoadConfigString(
      "daemon:\nphp:\n  ini:\npools:\n  www:\n    listen: x\n    pid_file_unused: 1\n", "n");
  REQUIRE_FALSE(config.ok());  // sanity: unknown keys still caught below empty sections
  CHECK(config.status().message() == "n:7: pools.www.pid_file_unused: unknown key");

  Result<Config> ok = LoadConfigString(
      "daemon:\n  pid_file:\nphp:\n  ini:\npools:\n  www:\n    listen: x\n    chdir: ~\n", "n");
  REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  CHECK(ok->daemon.pid_file.empty());
  CHECK(ok->php.ini.empty());
  CHECK(ok->pools[0].chdir.empty());
}

TEST_CASE("LoadConfigFile names the path in read errors") {
  Result<Config> missing = LoadConfigFile("/nonexistent/tfpm.yaml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Status::Code::kNotFound);
  CHECK(missing.status().message() == "/nonexistent/tfpm.yaml: No such file or directory");

  Result<Config> directory = LoadConfigFile("/tmp");
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.status().code() == Status::Code::kIoError);
  CHECK(directory.status().message() == "/tmp: Is a directory");
}

TEST_CASE("LoadConfigFile uses the path as the source name") {
  TempFile good("pools:\n  www:\n    listen: /run/www.sock\n");
  Result<Config> config = LoadConfigFile(good.path());
  REQUIRE_MESSAGE(config.ok(), config.status().ToString());
  CHECK(config->source == good.path());
  CHECK(config->pools[0].listen == "/run/www.sock");

  TempFile bad("pools:\n  www:\n    listen: x\n    threads: 0\n");
  Result<Config> error = LoadConfigFile(bad.path());
  REQUIRE_FALSE(error.ok());
  CHECK(error.status().message() == bad.path() + ":4: pools.www.threads: must be >= 1");
}

TEST_CASE("YAML syntax errors carry the line and never throw") {
  Result<Config> config = LoadConfigString("pools:\n  www: {listen: x\n", "s.yaml");
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().code() == Status::Code::kInvalidArgument);
  CHECK(config.status().message() == "s.yaml:3: end of map flow not found");

  Result<Config> tabs = LoadConfigString("pools:\n\twww: 1\n", "t.yaml");
  REQUIRE_FALSE(tabs.ok());
  CHECK(tabs.status().message() == "t.yaml:2: illegal map value");
}

TEST_CASE("YAML anchors and aliases are refused with file:line, before anything is copied") {
  struct Case {
    std::string text, error;
  };
  const std::string refused =
      "YAML anchors and aliases (&name, *name) are not allowed in a tfpm config; write the value out";
  const Case cases[] = {
      // A self-referencing anchor: copying it recursed until the stack overflowed.
      {"x: &a [*a]\n", "a.yaml:1: x: " + refused},
      {"pools:\n  www: &p\n    listen: x\n  api: *p\n", "a.yaml:2: pools.www: " + refused},
      {"pools:\n  www:\n    listen: &l /run/a.sock\n", "a.yaml:3: pools.www.listen: " + refused},
      {"pools:\n  www:\n    limit_extensions: [.php, &e .phtml]\n",
       "a.yaml:3: pools.www.limit_extensions[1]: " + refused},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    Result<Config> r = LoadConfigString(c.text, "a.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() == c.error);
  }
}

TEST_CASE("an alias bomb (billion laughs) is refused at its first anchor") {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char name = 'b'; name <= 'j'; ++name, ++prev) {
    text += std::string(1, name) + ": &" + name + " [";
    for (int i = 0; i < 10; ++i) text += std::string(i ? ", *" : "*") + prev;
    text += "]\n";
  }
  text += "pools:\n  www:\n    listen: x\n    limit_extensions: *j\n";
  Result<Config> r = LoadConfigString(text, "bomb.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().starts_with("bomb.yaml:1: a: YAML anchors and aliases"));
}

TEST_CASE("nesting deeper than kMaxConfigDepth is refused; as deep as that is fine") {
  auto nested = [](size_t depth) {
    return "pools:\n  www:\n    listen: x\nx: " + std::string(depth, '[') + std::string(depth, ']') + "\n";
  };
  // The root mapping is one level: `x` may hold kMaxConfigDepth - 1 more.
  Result<Config> ok = LoadConfigString(nested(kMaxConfigDepth - 1), "d.yaml");
  REQUIRE_FALSE(ok.ok());
  CHECK(ok.status().message() == "d.yaml:4: x: unknown key");  // parsed, then refused as a key
  Result<Config> deep = LoadConfigString(nested(kMaxConfigDepth), "d.yaml");
  REQUIRE_FALSE(deep.ok());
  std::string path = "x";
  for (size_t i = 0; i + 1 < kMaxConfigDepth; ++i) path += "[0]";
  CHECK(deep.status().message() ==
        "d.yaml:4: " + path + ": nested deeper than " + std::to_string(kMaxConfigDepth) + " levels");
  // Far deeper (yaml-cpp's own recursion): an error, not a crash.
  CHECK_FALSE(LoadConfigString(nested(100000), "d.yaml").ok());
}

TEST_CASE("a config larger than kMaxConfigBytes is refused") {
  std::string text = "pools:\n  www:\n    listen: x\n";
  text += "#" + std::string(kMaxConfigBytes, 'x') + "\n";
  Result<Config> r = LoadConfigString(text, "big.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "big.yaml:1: larger than " + std::to_string(kMaxConfigBytes) + " bytes");
}

TEST_CASE("LoadConfigFile reads only regular files, never blocking on a FIFO") {
  char dir[] = "/tmp/tfpm_config_fifo_XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string fifo = std::string(dir) + "/fifo.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Result<Config> r = LoadConfigFile(fifo);  // blocked for ever on the old code
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == fifo + ": not a regular file");
  Result<Config> zero = LoadConfigFile("/dev/zero");
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.status().message() == "/dev/zero: not a regular file");
  ::unlink(fifo.c_str());
  ::rmdir(dir);
}

TEST_CASE("errors never show the value of an environment variable") {
  ::setenv("TFPM_TEST_SECRET", "hunter2-value", 1);
  Result<Config> r = LoadConfigString(
      "pools:\n  a:\n    listen: ${TFPM_TEST_SECRET}\n  b:\n    listen: ${TFPM_TEST_SECRET}\n", "e.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "e.yaml:5: pools.b.listen: ${TFPM_TEST_SECRET} is already used by pool a");
  Result<Config> ok = LoadConfigString("pools:\n  a:\n    listen: /run/${TFPM_TEST_SECRET}.sock\n", "e.yaml");
  REQUIRE(ok.ok());
  CHECK(ok->pools[0].listen == "/run/hunter2-value.sock");
  REQUIRE(ok->environment_used.size() == 1);
  CHECK(ok->environment_used[0].first == "TFPM_TEST_SECRET");
  ::unsetenv("TFPM_TEST_SECRET");
}

}  // namespace
}  // namespace tfpm::config
