#include "daemon/command_line.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace tfpm::daemon {
namespace {

Result<CommandLine> Parse(std::vector<std::string> words) {
  static std::vector<std::string> keep;
  keep = std::move(words);
  std::vector<char*> argv;
  for (auto& w : keep) argv.push_back(w.data());
  return ParseCommandLine(std::span<char* const>(argv.data(), argv.size()));
}

TEST_CASE("command line: tfpm's own options") {
  auto c = Parse({"--config", "/etc/tfpm.yaml", "-F", "-t", "-R"});
  REQUIRE(c.ok());
  CHECK(c->config_path == "/etc/tfpm.yaml");
  CHECK(c->foreground);
  CHECK(c->test);
  CHECK(c->allow_root);
  CHECK_FALSE(c->fpm_mode);
  CHECK(c->php_cli.empty());
  CHECK(c->answer == CommandLine::Answer::kNone);
}

TEST_CASE("command line: nothing given runs the built-in config in the background") {
  auto c = Parse({});
  REQUIRE(c.ok());
  CHECK(c->config_path.empty());
  CHECK_FALSE(c->foreground);
  CHECK_FALSE(c->test);
}

TEST_CASE("command line: an unknown argument is refused with the usage") {
  auto c = Parse({"-F", "--frobnicate"});
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message().rfind("tfpm: unknown argument '--frobnicate'\nUsage: tfpm", 0) == 0);
  // -c without a file is not --config.
  auto bare = Parse({"-c"});
  REQUIRE_FALSE(bare.ok());
  CHECK(bare.status().message().rfind("tfpm: unknown argument '-c'\n", 0) == 0);
}

TEST_CASE("command line: --version answers at once, later arguments are not looked at") {
  auto c = Parse({"-v", "--frobnicate"});
  REQUIRE(c.ok());
  CHECK(c->answer == CommandLine::Answer::kVersion);
  auto d = Parse({"-F", "--print-default-config"});
  REQUIRE(d.ok());
  CHECK(d->answer == CommandLine::Answer::kPrintDefaultConfig);
  CHECK(Parse({"--help"})->answer == CommandLine::Answer::kHelp);
}

TEST_CASE("command line: -m, -i and --ini name the PHP CLI answer") {
  CHECK(Parse({"-m"})->php_cli == "--modules");
  CHECK(Parse({"--info"})->php_cli == "--info");
  CHECK(Parse({"-c", "x.yaml", "--ini"})->php_cli == "--ini");
}

TEST_CASE("command line: -y switches every other option to php-fpm's meaning, wherever it stands") {
  auto c = Parse({"-c", "/etc/php/8.2/fpm", "-y", "/etc/php/8.2/fpm/php-fpm.conf", "-F", "-dmemory_limit=64M",
                  "--define", "display_errors", "-p", "/usr", "--pid=/run/x.pid", "-n", "-O", "-tt", "-R"});
  REQUIRE(c.ok());
  CHECK(c->fpm_mode);
  CHECK(c->fpm.config == "/etc/php/8.2/fpm/php-fpm.conf");
  CHECK(c->fpm.ini_arg == "/etc/php/8.2/fpm");
  CHECK(c->config_path.empty());
  CHECK(c->fpm.nodaemonize);
  CHECK_FALSE(c->fpm.daemonize);
  CHECK(c->fpm.no_ini);
  CHECK(c->test);
  CHECK(c->allow_root);
  CHECK(c->fpm.import.allow_root);
  CHECK(c->fpm.import.prefix == "/usr");
  CHECK(c->fpm.import.pid_file == "/run/x.pid");
  REQUIRE(c->fpm.import.php_defines.size() == 2);
  CHECK(c->fpm.import.php_defines[0] == std::pair<std::string, std::string>("memory_limit", "64M"));
  // php -d name without a value sets "1", as PHP's CLI does.
  CHECK(c->fpm.import.php_defines[1] == std::pair<std::string, std::string>("display_errors", "1"));
}

TEST_CASE("command line: -y forms and errors") {
  CHECK(Parse({"--fpm-config=/x/php-fpm.conf"})->fpm.config == "/x/php-fpm.conf");
  CHECK(Parse({"-y/x/php-fpm.conf", "-D"})->fpm.daemonize);
  auto missing = Parse({"-F", "-y"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "tfpm: -y needs a file (php-fpm.conf)\n");
  auto unknown = Parse({"-y", "/x.conf", "--config"});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message().rfind("tfpm: unknown argument '--config' (php-fpm compatibility mode)\n", 0) ==
        0);
}

}  // namespace
}  // namespace tfpm::daemon
