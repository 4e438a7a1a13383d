#include "config/fpm_map.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "config/fpm_load.h"
#include "config/load_yaml.h"
#include "fakes/fake_files.h"

namespace tfpm::config::fpm {
namespace {

constexpr char kMain[] = "/etc/php/fpm/php-fpm.conf";

// Shaped like Debian's php-fpm.conf + pool.d/www.conf (their directives,
// our own text).
constexpr char kDebianMain[] =
    "[global]\n"
    "pid = /run/php/php8.2-fpm.pid\n"
    "error_log = /var/log/php8.2-fpm.log\n"
    ";emergency_restart_threshold = 0\n"
    "include=/etc/php/fpm/pool.d/*.conf\n";
constexpr char kDebianWww[] =
    "[www]\n"
    "user = www-data\n"
    "group = www-data\n"
    "listen = /run/php/php8.2-fpm.sock\n"
    "listen.owner = www-data\n"
    "listen.group = www-data\n"
    "pm = dynamic\n"
    "pm.max_children = 5\n"
    "pm.start_servers = 2\n"
    "pm.min_spare_servers = 1\n"
    "pm.max_spare_servers = 3\n";

struct Fixture {
  testing::FakeFiles files;
  ImportOptions options;
  Fixture() {
    files.files[kMain] = kDebianMain;
    files.files["/etc/php/fpm/pool.d/www.conf"] = kDebianWww;
    options.for_file = true;
  }
  Result<FpmLoaded> Load() { return LoadFpmConfig(kMain, options, files); }
  // A main file with one pool whose body is `pool`.
  Result<FpmLoaded> LoadPool(const std::string& pool) {
    files.files["/etc/php/fpm/pool.d/www.conf"] = pool;
    return Load();
  }
  std::string Error(const std::string& pool) {
    auto r = LoadPool(pool);
    if (r.ok()) return "(loaded)";
    return r.status().message();
  }
};

bool HasNote(const FpmLoaded& l, const std::string& text) {
  for (const Note& n : l.notes) {
    if (n.text == text) return true;
  }
  return false;
}

TEST_CASE("fpm import: Debian's stock pool becomes the same pool in tfpm") {
  Fixture f;
  auto r = f.Load();
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  const Config& c = r->config;
  CHECK(c.source == kMain);
  CHECK(c.daemon.pid_file == "/run/php/php8.2-fpm.pid");
  CHECK(c.daemon.error_log == "/var/log/php8.2-fpm.log");
  CHECK(c.daemon.process_control_timeout.count() == 0);  // php-fpm's default kept
  REQUIRE(c.pools.size() == 1);
  const PoolConfig& p = c.pools[0];
  CHECK(p.name == "www");
  CHECK(p.listen == "/run/php/php8.2-fpm.sock");
  CHECK(p.listen_owner == "www-data");
  CHECK(p.listen_group == "www-data");
  CHECK(p.pm == ProcessManager::kDynamic);
  CHECK(p.processes == 1);
  CHECK(p.threads == 5);
  CHECK(p.start_threads == 2);
  CHECK(p.min_spare_threads == 1);
  CHECK(p.max_spare_threads == 3);
  CHECK(p.limit_extensions == std::vector<std::string>{".php", ".phar"});
  // user and group are mapped: the workers switch to www-data.
  CHECK(p.user == "www-data");
  CHECK(p.group == "www-data");
  CHECK(r->notes.empty());
  // The YAML names its sources.
  CHECK(r->yaml.find("    user: \"www-data\"  # /etc/php/fpm/pool.d/www.conf:2\n") != std::string::npos);
  CHECK(r->yaml.find("    listen: \"/run/php/php8.2-fpm.sock\"  # /etc/php/fpm/pool.d/www.conf:4\n") !=
        std::string::npos);
  // What pm-ctl import-fpm writes loads as an ordinary YAML file.
  auto again = LoadConfigString(r->yaml, "tfpm.yaml");
  REQUIRE_MESSAGE(again.ok(), again.status().message());
  CHECK(again->pools[0].threads == 5);
}

TEST_CASE("fpm import: user as root is mapped (with or without -R), is ignored when not root") {
  Fixture f;
  f.options.for_file = false;
  f.options.running_as_root = true;
  auto r = f.Load();
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->config.pools[0].user == "www-data");
  f.options.allow_root = true;
  CHECK(f.Load().ok());
  f.options.running_as_root = false;
  f.options.allow_root = false;
  auto n = f.Load();
  REQUIRE(n.ok());
  CHECK(HasNote(*n, "[/etc/php/fpm/pool.d/www.conf:2] user = www-data: ignored: tfpm is not running as root "
                    "(as php-fpm)"));
  CHECK(n->config.pools[0].user.empty());
}

TEST_CASE("fpm import: pm.max_children becomes processes x threads by one rule") {
  struct Case {
    int children, processes, threads, want_p, want_t;
  };
  const Case cases[] = {
      {1, 0, 0, 1, 1},   {5, 0, 0, 1, 5},   {64, 0, 0, 1, 64},  {65, 0, 0, 2, 33},
      {100, 0, 0, 2, 50}, {200, 0, 0, 4, 50}, {20, 0, 8, 3, 8},  {20, 2, 0, 2, 10},
      {20, 3, 4, 3, 4},
  };
  for (const Case& c : cases) {
    CAPTURE(c.children);
    Split s = SplitChildren(c.children, c.processes, c.threads);
    CHECK(s.processes == c.want_p);
    CHECK(s.threads == c.want_t);
  }
  Fixture f;
  auto r = f.LoadPool("[www]\nlisten = 9000\npm = static\npm.max_children = 65\n");
  REQUIRE(r.ok());
  CHECK(r->config.pools[0].processes == 2);
  CHECK(r->config.pools[0].threads == 33);
  CHECK(HasNote(*r, "[/etc/php/fpm/pool.d/www.conf:4] pm.max_children = 65: changed: 2 process(es) x 33 "
                    "threads = 66 PHP threads"));
  // The per-pool override.
  auto o = f.LoadPool("[www]\nlisten = 9000\npm = static\npm.max_children = 16\ntfpm.threads = 4\n"
                      "tfpm.max_wait_time = 5s\n");
  REQUIRE_MESSAGE(o.ok(), o.status().message());
  CHECK(o->config.pools[0].processes == 4);
  CHECK(o->config.pools[0].threads == 4);
  CHECK(o->config.pools[0].max_wait_time.count() == 5000);
}

TEST_CASE("fpm import: pm.max_spawn_rate becomes max_spawn_rate per process") {
  Fixture f;
  // 100 children -> 2 processes x 50 threads: a rate of 9 is 5 per process.
  auto r = f.LoadPool("[www]\nlisten = 9000\npm = dynamic\npm.max_children = 100\npm.min_spare_servers = 2\n"
                      "pm.max_spare_servers = 10\npm.max_spawn_rate = 9\n");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->config.pools[0].processes == 2);
  CHECK(r->config.pools[0].max_spawn_rate == 5);
  // php-fpm's default, 32, when the file has none.
  auto d = f.LoadPool("[www]\nlisten = 9000\npm = dynamic\npm.max_children = 5\npm.min_spare_servers = 1\n"
                      "pm.max_spare_servers = 3\n");
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  CHECK(d->config.pools[0].max_spawn_rate == 32);
  CHECK(f.Error("[www]\nlisten = 9000\npm = dynamic\npm.max_children = 5\npm.min_spare_servers = 1\n"
                "pm.max_spare_servers = 3\npm.max_spawn_rate = 0\n") ==
        "[/etc/php/fpm/pool.d/www.conf:7] [pool www] pm.max_spawn_rate must be a positive value");
}

TEST_CASE("fpm import: the file's ';' comments stand above the YAML they became") {
  Fixture f;
  f.files.files[kMain] =
      "; the main file\n; of this site\n[global]\n; where the pid goes\npid = /run/x.pid\n\n"
      "; a block ended by a blank line\n\nerror_log = /var/log/x.log\ninclude=/etc/php/fpm/pool.d/*.conf\n";
  auto r = f.LoadPool(
      "; the shop\n[shop]\n; who runs PHP\nuser = www-data\nlisten = 9000\npm = static\n"
      "; four children\n;   (one process of four threads)\npm.max_children = 4\n"
      "; a bell\x07 and \xff\n; not supported here\napparmor_hat = shop\n");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  const std::string& y = r->yaml;
  CAPTURE(y);
  CHECK(y.find("# the main file\n# of this site\ndaemon:\n") != std::string::npos);
  CHECK(y.find("  # where the pid goes\n  pid_file: ") != std::string::npos);
  CHECK(y.find("a block ended by a blank line") == std::string::npos);
  CHECK(y.find("  # the shop\n  \"shop\":") != std::string::npos);
  CHECK(y.find("    # who runs PHP\n    user: ") != std::string::npos);
  // Two keys from one line: the comment once, above the first.
  CHECK(y.find("    # four children\n    #   (one process of four threads)\n    processes: 1") != std::string::npos);
  CHECK(y.find("# four children") == y.rfind("# four children"));
  // Control characters and bytes that are not UTF-8 are replaced.
  CHECK(y.find("# a bell? and \xEF\xBF\xBD\n") != std::string::npos);
  // The unsupported directive is still marked, with its reason.
  CHECK(y.find("# [/etc/php/fpm/pool.d/www.conf:12] apparmor_hat = shop: not supported") != std::string::npos);
  // The output still loads.
  CHECK(LoadConfigString(y, "imported.yaml").ok());
}

TEST_CASE("fpm import: every directive tfpm cannot honour gets one line with the reason") {
  Fixture f;
  f.files.files[kMain] =
      "[global]\nerror_log = syslog\nsyslog.facility = local3\nrlimit_files = 4096\nprocess.max = 10\n"
      "events.mechanism = epoll\ninclude=/etc/php/fpm/pool.d/*.conf\n";
  auto r = f.LoadPool(
      "[www]\nlisten = 127.0.0.1:9000\nlisten.allowed_clients = 127.0.0.1\npm = ondemand\n"
      "pm.max_children = 4\npm.process_idle_timeout = 20s\npm.max_spawn_rate = 8\nchroot = /srv\n"
      "rlimit_core = unlimited\npm.status_listen = 127.0.0.1:9001\npm.max_requests = 500\n");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->config.daemon.error_log == "stderr");
  CHECK(r->config.pools[0].pm == ProcessManager::kOndemand);
  CHECK(r->config.pools[0].idle_timeout.count() == 20000);
  // php-fpm's child is a process with one interpreter: each thread's
  // interpreter after 500, the process after 500 x its 4 threads.
  CHECK(r->config.pools[0].max_requests == 500);
  CHECK(r->config.pools[0].process_max_requests == 2000);
  // The isolation directives are mapped.
  CHECK(r->config.daemon.rlimit_files == 4096);
  CHECK(r->config.daemon.process_max == 10);
  CHECK(r->config.pools[0].chroot == "/srv");
  CHECK(r->config.pools[0].rlimit_core == kRlimitUnlimited);
  CHECK(r->config.pools[0].listen_allowed_clients == std::vector<std::string>{"127.0.0.1"});
  // pm.status_listen: the supervisor's status listener (status_listen).
  CHECK(r->config.pools[0].status_listen == "127.0.0.1:9001");
  const char* expected[] = {
      "[/etc/php/fpm/php-fpm.conf:2] error_log = syslog: not supported: tfpm logs to stderr instead (journald "
      "under systemd)",
      "[/etc/php/fpm/php-fpm.conf:3] syslog.facility = local3: not supported: tfpm does not log to syslog",
      "[/etc/php/fpm/php-fpm.conf:6] events.mechanism = epoll: ignored: tfpm always uses epoll",
      "[/etc/php/fpm/pool.d/www.conf:7] pm.max_spawn_rate = 8: ignored: only used with pm = dynamic",
      "[/etc/php/fpm/pool.d/www.conf:11] pm.max_requests = 500: changed: a process is replaced after 2000 "
      "requests (500 x 4 threads, process_max_requests), each thread's interpreter after 500 (max_requests)",
  };
  for (const char* e : expected) CHECK_MESSAGE(HasNote(*r, e), e);
  CHECK(r->notes.size() == std::size(expected));
}

TEST_CASE("fpm import: listen.allowed_clients and listen.acl_* as php-fpm applies them") {
  Fixture f;
  auto r = f.LoadPool("[www]\nlisten = 9000\nlisten.allowed_clients = 127.0.0.1, ::1,10.0.0.0/8\n"
                      "pm = static\npm.max_children = 2\n");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->config.pools[0].listen_allowed_clients == std::vector<std::string>{"127.0.0.1", "::1", "10.0.0.0/8"});
  CHECK(r->notes.empty());
  // Unix socket: the ACL entries, and listen.owner/group left alone.
  r = f.LoadPool("[www]\nlisten = /run/www.sock\nlisten.owner = www-data\nlisten.group = www-data\n"
                 "listen.acl_users = nginx,apache\nlisten.acl_groups = web\nlisten.allowed_clients = 127.0.0.1\n"
                 "pm = static\npm.max_children = 2\n");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  const PoolConfig& p = r->config.pools[0];
  CHECK(p.listen_acl_users == std::vector<std::string>{"nginx", "apache"});
  CHECK(p.listen_acl_groups == std::vector<std::string>{"web"});
  CHECK(p.listen_owner.empty());
  CHECK(p.listen_group.empty());
  CHECK(p.listen_allowed_clients.empty());
  for (const char* e : {
           "[/etc/php/fpm/pool.d/www.conf:3] listen.owner = www-data: ignored: listen.acl_users/acl_groups are set "
           "(as php-fpm)",
           "[/etc/php/fpm/pool.d/www.conf:4] listen.group = www-data: ignored: listen.acl_users/acl_groups are set "
           "(as php-fpm)",
           "[/etc/php/fpm/pool.d/www.conf:7] listen.allowed_clients = 127.0.0.1: ignored: listen is a unix socket "
           "(as php-fpm)"}) {
    CHECK_MESSAGE(HasNote(*r, e), e);
  }
  // TCP: ACLs ignored.
  r = f.LoadPool("[www]\nlisten = 127.0.0.1:9000\nlisten.acl_users = nginx\npm = static\npm.max_children = 2\n");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->config.pools[0].listen_acl_users.empty());
  CHECK(HasNote(*r, "[/etc/php/fpm/pool.d/www.conf:3] listen.acl_users = nginx: ignored: listen is not a unix socket "
                    "(as php-fpm)"));
  // An address php-fpm would skip with a warning is refused.
  CHECK(f.Error("[www]\nlisten = 9000\nlisten.allowed_clients = 127.0.0.1,bogus\npm = static\n"
                "pm.max_children = 2\n")
            .find("listen_allowed_clients[1]: must be an IPv4 or IPv6 address") != std::string::npos);
}

TEST_CASE("fpm import: values, arrays, paths and $pool") {
  Fixture f;
  f.options.prefix = "/srv/fpm";
  auto r = f.LoadPool(
      "[site]\n"
      "prefix = /srv/$pool\n"
      "listen = run/$pool.sock\n"
      "listen.mode = 0666\n"
      "listen.backlog = -1\n"
      "pm = static\n"
      "pm.max_children = 3\n"
      "access.log = log/$pool.access.log\n"
      "access.format = \"%R - %u %t \\\"%m %r%Q%q\\\" %s %f %{mili}d\"\n"
      "access.suppress_path[] = /ping\n"
      "slowlog = /var/log/$pool.slow\n"
      "request_slowlog_timeout = 5s\n"
      "request_terminate_timeout = 2m\n"
      "pm.status_path = /status\n"
      "ping.path = /ping\n"
      "ping.response = ok\n"
      "chdir = /\n"
      "catch_workers_output = yes\n"
      "clear_env = no\n"
      "security.limit_extensions = .php .php7\n"
      "php_value[memory_limit] = 64M\n"
      "php_flag[display_errors] = off\n"
      "php_admin_value[error_log] = log/$pool.php.log\n"
      "php_admin_flag[log_errors] = on\n"
      "php_admin_value[error_reporting] = E_ALL & ~E_DEPRECATED\n"
      "php_value[memory_limit] = 96M\n"
      "php_value[literal] = \"\\${NOT_EXPANDED} \\\\ 'q'\"\n"
      "env[HOSTNAME] = $HOSTNAME\n"
      "env[TMP] = /tmp/$pool\n");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  const PoolConfig& p = r->config.pools[0];
  CHECK(p.name == "site");
  CHECK(p.listen == "/srv/site/run/site.sock");
  CHECK(p.listen_mode == 0666);
  CHECK(p.listen_backlog == 511);
  CHECK(p.processes == 1);
  CHECK(p.threads == 3);
  CHECK(p.access_log == "/srv/site/log/site.access.log");
  CHECK(p.access_format == "%R - %u %t \"%m %r%Q%q\" %s %f %{mili}d");
  CHECK(p.access_suppress_path == std::vector<std::string>{"/ping"});
  CHECK(p.slowlog == "/var/log/site.slow");
  CHECK(p.request_slowlog_timeout.count() == 5000);
  CHECK(p.request_terminate_timeout.count() == 120000);
  CHECK(p.status_path == "/status");
  CHECK(p.ping_path == "/ping");
  CHECK(p.ping_response == "ok");
  CHECK(p.chdir == "/");
  CHECK(p.catch_workers_output);
  CHECK_FALSE(p.clear_env);
  CHECK(p.limit_extensions == std::vector<std::string>{".php", ".php7"});
  CHECK(p.php_value == KeyValues{{"memory_limit", "96M"}, {"display_errors", "0"},
                                 {"literal", "${NOT_EXPANDED} \\ 'q'"}});
  CHECK(p.php_admin_value == KeyValues{{"error_log", "/srv/site/log/site.php.log"}, {"log_errors", "1"},
                                       {"error_reporting", "22527"}});
  CHECK(p.env == KeyValues{{"HOSTNAME", "$HOSTNAME"}, {"TMP", "/tmp/site"}});
}

struct BadPool {
  const char* pool;
  const char* message;
};

TEST_CASE("fpm import: errors are php-fpm's, with file:line") {
  const BadPool cases[] = {
      {"[www]\nlisten = 9000\nfoo.bar = 1\n", "[/etc/php/fpm/pool.d/www.conf:3] unknown entry 'foo.bar'"},
      {"[www]\nlisten = 9000\npm.max_children = 2x\n",
       "[/etc/php/fpm/pool.d/www.conf:3] unable to parse value for entry 'pm.max_children': is not a valid "
       "number (greater or equal than zero)"},
      {"[www]\nlisten = 9000\ncatch_workers_output = maybe\n",
       "[/etc/php/fpm/pool.d/www.conf:3] unable to parse value for entry 'catch_workers_output': invalid "
       "boolean value"},
      {"[www]\nrequest_terminate_timeout = 10x\n",
       "[/etc/php/fpm/pool.d/www.conf:2] unable to parse value for entry 'request_terminate_timeout': unknown "
       "suffix used in time value"},
      {"[www]\npm = sometimes\n",
       "[/etc/php/fpm/pool.d/www.conf:2] unable to parse value for entry 'pm': invalid process manager "
       "(static, dynamic or ondemand)"},
      {"[www]\nphp_value[] = 1\n", "[/etc/php/fpm/pool.d/www.conf:2] You must provide a key for field 'php_value'"},
      {"[www]\nenv[X] =\n", "[/etc/php/fpm/pool.d/www.conf:2] empty value"},
      {"[www]\nphp_values[x] = 1\n", "[/etc/php/fpm/pool.d/www.conf:2] unknown directive 'php_values'"},
      {"[www]\nphp_flag[x] = maybe\n",
       "[/etc/php/fpm/pool.d/www.conf:2] error while parsing 'php_flag[x]' : invalid boolean value"},
      {"[www]\naccess.suppress_path[] = ping\n",
       "[/etc/php/fpm/pool.d/www.conf:2] Values provided to field 'access.suppress_path' must begin with '/'"},
      {"[www]\npm = static\npm.max_children = 1\n",
       "[/etc/php/fpm/pool.d/www.conf:1] [pool www] no listen address have been defined!"},
      {"[www]\nlisten = 9000\npm.max_children = 1\n",
       "[/etc/php/fpm/pool.d/www.conf:1] [pool www] the process manager is missing (static, dynamic or ondemand)"},
      {"[www]\nlisten = 9000\npm = static\npm.max_children = 0\n",
       "[/etc/php/fpm/pool.d/www.conf:4] [pool www] pm.max_children must be a positive value"},
      {"[www]\nlisten = 9000\npm = dynamic\npm.max_children = 4\npm.min_spare_servers = 2\n"
       "pm.max_spare_servers = 5\n",
       "[/etc/php/fpm/pool.d/www.conf:6] [pool www] pm.min_spare_servers(2) and pm.max_spare_servers(5) cannot be "
       "greater than pm.max_children(4)"},
      {"[www]\nlisten = 9000\npm = dynamic\npm.max_children = 4\npm.min_spare_servers = 2\n"
       "pm.max_spare_servers = 3\npm.start_servers = 4\n",
       "[/etc/php/fpm/pool.d/www.conf:7] [pool www] pm.start_servers(4) must not be less than "
       "pm.min_spare_servers(2) and not greater than pm.max_spare_servers(3)"},
      {"[www]\nlisten = 9000\npm = static\npm.max_children = 2\n[two]\nlisten = 9000\npm = static\n"
       "pm.max_children = 2\n",
       "[/etc/php/fpm/pool.d/www.conf:6] [pool two] unable to set listen address as it's already used in another "
       "pool 'www'"},
      // Numbers beyond int: php-fpm's atoi() would wrap 4294967297 to 1.
      {"[www]\nlisten = 9000\npm = static\npm.max_children = 4294967297\n",
       "[/etc/php/fpm/pool.d/www.conf:4] unable to parse value for entry 'pm.max_children': is out of range"},
      {"[www]\nlisten = 9000\npm = static\npm.max_children = 2\nrequest_terminate_timeout = 99999999999999999999d\n",
       "[/etc/php/fpm/pool.d/www.conf:5] unable to parse value for entry 'request_terminate_timeout': is out of "
       "range"},
      {"[www]\nlisten = 9000\npm = static\npm.max_children = 2147483647\n",
       "[/etc/php/fpm/pool.d/www.conf:4] pools.www.processes: must be <= 256"},
      {"[www]\nlisten = 9000\npm = static\npm.max_children = 2\nrequest_terminate_timeout = 2000d\n",
       "[/etc/php/fpm/pool.d/www.conf:5] pools.www.request_terminate_timeout: must be <= 24h"},
      // tfpm's own checks come back with the php-fpm file and line.
      {"[www]\nlisten = 9000\npm = static\npm.max_children = 2\ntfpm.threads = 0\n",
       "[/etc/php/fpm/pool.d/www.conf:5] pools.www.threads: must be >= 1"},
      {"[www]\nlisten = 9000\npm = static\npm.max_children = 2\ntfpm.thraeds = 3\n",
       "[/etc/php/fpm/pool.d/www.conf:5] pools.www.thraeds: unknown key"},
      {"[www]\nlisten = 9000\npm = static\npm.max_children = 2\nping.path = ping\n",
       "[/etc/php/fpm/pool.d/www.conf:5] pools.www.ping_path: must start with '/'"},
  };
  for (const BadPool& c : cases) {
    const std::string pool = c.pool;
    CAPTURE(pool);
    Fixture f;
    CHECK(f.Error(c.pool) == c.message);
  }
  Fixture g;
  g.files.files[kMain] = "[global]\npid = /run/$pool.pid\n";
  auto r = g.Load();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "[/etc/php/fpm/php-fpm.conf:2] unable to parse value for entry 'pid': Can't use '$pool' when the pool is "
        "not defined");
  g.files.files[kMain] = "[global]\nphp_value[x] = 1\n";
  CHECK(g.Load().status().message() == "[/etc/php/fpm/php-fpm.conf:2] Array are not allowed in the global section");
  g.files.files[kMain] = "[global]\npid = /x\n";
  CHECK(g.Load().status().message() ==
        "[/etc/php/fpm/php-fpm.conf] at least one pool section must be specified in config file");
}

TEST_CASE("fpm import: command line options") {
  Fixture f;
  f.options.pid_file = "/tmp/other.pid";
  f.options.php_ini = "/etc/php/fpm/php.ini";
  f.options.php_defines = {{"memory_limit", "256M"}, {"display_errors", "1"}};
  f.options.control_socket = "/tmp/ctl.sock";
  auto r = f.Load();
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->config.daemon.pid_file == "/tmp/other.pid");
  CHECK(r->config.daemon.control_socket == "/tmp/ctl.sock");
  CHECK(r->config.php.ini_file == "/etc/php/fpm/php.ini");
  CHECK(r->config.php.ini == KeyValues{{"memory_limit", "256M"}, {"display_errors", "1"}});
  CHECK(r->daemonize);
  f.files.files[kMain] = std::string(kDebianMain) + "[global]\ndaemonize = no\n";
  auto n = f.Load();
  REQUIRE(n.ok());
  CHECK_FALSE(n->daemonize);
}

TEST_CASE("fpm import: the table has every php-fpm directive once per section") {
  for (const Rule& r : Rules()) {
    CAPTURE(r.directive);
    CHECK(FindRule(r.scope, r.directive) == &r);
    if (r.fate != Fate::kMapped) CHECK_FALSE(r.reason.empty());
  }
  CHECK(FindRule(Scope::kPool, "pm.max_spawn_rate")->fate == Fate::kChanged);
  CHECK(FindRule(Scope::kPool, "user")->fate == Fate::kMapped);
}

TEST_CASE("docs/migrating.md holds the mapping table as the code has it") {
  std::ifstream in(TFPM_SOURCE_ROOT "/docs/migrating.md");
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const std::string begin = "<!-- directive-table: generated by `pm-ctl import-fpm --table`, checked by a unit test -->\n";
  const size_t at = doc.find(begin);
  REQUIRE(at != std::string::npos);
  const size_t end = doc.find("<!-- end directive-table -->", at);
  REQUIRE(end != std::string::npos);
  CHECK(doc.substr(at + begin.size(), end - at - begin.size()) == RulesMarkdown());
}

TEST_CASE("fpm import: pm.status_listen, a unix socket taken from the prefix as listen") {
  Fixture f;
  auto r = f.LoadPool("[www]\nlisten = /run/php/www.sock\npm.status_listen = /run/php/www-status.sock\n"
                      "pm.status_path = /fpm-status\npm = static\npm.max_children = 2\n");
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->config.pools[0].status_listen == "/run/php/www-status.sock");
  CHECK(r->config.pools[0].status_path == "/fpm-status");
  for (const Note& n : r->notes) CHECK_MESSAGE(n.text.find("status_listen") == std::string::npos, n.text);
}

}  // namespace
}  // namespace tfpm::config::fpm
