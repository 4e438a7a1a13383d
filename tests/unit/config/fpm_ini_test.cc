#include "config/fpm_ini.h"

#include <doctest/doctest.h>

#include <stdlib.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fakes/fake_files.h"

namespace tfpm::config::fpm {
namespace {

const char* FakeEnv(const char* name) {
  if (std::strcmp(name, "HOME") == 0) return "/root";
  if (std::strcmp(name, "POOL_DIR") == 0) return "/srv/pools";
  return nullptr;
}

std::string Value(const char* text) {
  ValueResult r = ParseValue(text, FakeEnv);
  REQUIRE_MESSAGE(r.ok, r.error);
  return r.value;
}

std::string ValueError(const char* text) {
  ValueResult r = ParseValue(text, FakeEnv);
  CHECK_FALSE(r.ok);
  return r.error;
}

// Each expectation below is what php-fpm 8.2 -tt printed for the same line.
TEST_CASE("fpm ini values follow PHP's INI scanner as php-fpm uses it") {
  CHECK(Value(" /run/php/php8.2-fpm.sock") == "/run/php/php8.2-fpm.sock");
  CHECK(Value(" \"%R - %u %t \\\"%m %r%Q%q\\\" %s %f %{mili}d %{kilo}M %{user}C%%\"") ==
        "%R - %u %t \"%m %r%Q%q\" %s %f %{mili}d %{kilo}M %{user}C%%");
  CHECK(Value(" E_ALL & ~E_NOTICE") == "30711");  // PHP 8.4's E_ALL (30719) without E_NOTICE
  CHECK(Value(" 'single $x \\\" q'") == "single $x \\\" q");
  CHECK(Value(" \"dq ${HOME} \\$x \\\\ \\n\"") == "dq /root $x \\ \\n");
  CHECK(Value(" ${HOME}/x") == "/root/x");
  CHECK(Value(" on") == "1");
  CHECK(Value(" Yes") == "1");
  CHECK(Value(" none") == "");
  CHECK(Value(" null") == "");
  CHECK(Value(" off") == "");
  CHECK(Value(" \"foo\" bar") == "foobar");
  CHECK(Value(" value ; trailing comment") == "value");
  CHECK(Value(" FOO_BAR") == "FOO_BAR");  // an unknown constant stays text
  CHECK(Value(" ${NOPE_UNSET}end") == "end");
  CHECK(Value(" a b  c   ") == "a b  c");
  CHECK(Value(" 1.5") == "1.5");
  CHECK(Value(" /var/log/$pool.log") == "/var/log/$pool.log");  // $pool is the mapper's
  CHECK(Value(" ${MISSING:-fallback}") == "fallback");
  CHECK(Value(" (E_ERROR | E_WARNING) & ~E_WARNING") == "1");
  CHECK(Value("") == "");
  CHECK(Value(" \"\"") == "");
  CHECK(Value(" \"a;b\"") == "a;b");
}

TEST_CASE("fpm ini value errors") {
  CHECK(ValueError(" a=b") == "syntax error, unexpected '=' (quote a value that contains '=')");
  CHECK(ValueError(" \"open") == "syntax error, unterminated double-quoted string");
  CHECK(ValueError(" 'open") == "syntax error, unterminated single-quoted string");
  CHECK(ValueError(" ${HOME") == "syntax error, unterminated '${'");
  CHECK(ValueError(" E_ALL &") == "syntax error, unexpected end of line");
  CHECK(ValueError(" (E_ALL") == "syntax error, expecting ')'");
}

TEST_CASE("fpm ini: reports the unset ${VAR}s") {
  ValueResult r = ParseValue(" ${NOPE_A}/${NOPE_B}", FakeEnv);
  REQUIRE(r.ok);
  CHECK(r.value == "/");
  CHECK(r.unset_variables == std::vector<std::string>{"NOPE_A", "NOPE_B"});
}

Result<Document> ParseFake(testing::FakeFiles& files, const std::string& main = "/etc/php/fpm/php-fpm.conf",
                           const std::string& prefix = "") {
  ParseOptions o;
  o.prefix = prefix;
  o.getenv = FakeEnv;
  return Parse(main, files, o);
}

TEST_CASE("fpm ini: sections, includes by glob, pools reopened") {
  testing::FakeFiles f;
  f.files["/etc/php/fpm/php-fpm.conf"] =
      ";comment\n"
      "[global]\r\n"
      "pid = /run/php/fpm.pid\n"
      "include=/etc/php/fpm/pool.d/*.conf\n"
      "[WWW]\n"
      "pm.max_requests = 9\n";
  f.files["/etc/php/fpm/pool.d/b.conf"] = "[b]\nlisten = /run/b.sock\n";
  f.files["/etc/php/fpm/pool.d/a.conf"] = "[www]\nlisten = /run/www.sock\nphp_admin_value[memory_limit] = 64M\n";
  f.files["/etc/php/fpm/pool.d/notes.txt"] = "not = included\n";
  auto doc = ParseFake(f);
  REQUIRE_MESSAGE(doc.ok(), doc.status().message());
  REQUIRE(doc->global.size() == 1);
  CHECK(doc->global[0].name == "pid");
  CHECK(doc->global[0].at.line == 3);
  REQUIRE(doc->pools.size() == 2);
  CHECK(doc->pools[0].name == "www");  // a.conf sorts first
  CHECK(doc->pools[1].name == "b");
  // [WWW] reopens www (case-insensitive), as php-fpm.
  REQUIRE(doc->pools[0].entries.size() == 3);
  CHECK(doc->pools[0].entries[1].array);
  CHECK(doc->pools[0].entries[1].name == "php_admin_value");
  CHECK(doc->pools[0].entries[1].key == "memory_limit");
  CHECK(doc->pools[0].entries[1].at.file == "/etc/php/fpm/pool.d/a.conf");
  CHECK(doc->pools[0].entries[1].at.line == 3);
  CHECK(doc->pools[0].entries[2].name == "pm.max_requests");
  CHECK(doc->files.size() == 3);
}

TEST_CASE("fpm ini: a relative include is taken from the prefix, as php-fpm") {
  testing::FakeFiles f;
  f.files["/opt/fpm/etc/php-fpm.conf"] = "include = etc/pools/*.conf\n";
  f.files["/opt/fpm/etc/pools/x.conf"] = "[x]\nlisten = 9000\n";
  auto doc = ParseFake(f, "/opt/fpm/etc/php-fpm.conf", "/opt/fpm");
  REQUIRE_MESSAGE(doc.ok(), doc.status().message());
  REQUIRE(doc->pools.size() == 1);
  // Without -p the prefix is /usr: nothing matches, a warning as php-fpm's.
  auto doc2 = ParseFake(f, "/opt/fpm/etc/php-fpm.conf");
  REQUIRE(doc2.ok());
  CHECK(doc2->pools.empty());
  REQUIRE(doc2->warnings.size() == 1);
  CHECK(doc2->warnings[0] ==
        "Nothing matches the include pattern '/usr/etc/pools/*.conf' from /opt/fpm/etc/php-fpm.conf at line 1.");
}

TEST_CASE("fpm ini: includes nest at most 5 files deep") {
  testing::FakeFiles f;
  for (int i = 0; i < 7; ++i) {
    f.files["/c/" + std::to_string(i) + ".conf"] = "include = /c/" + std::to_string(i + 1) + ".conf\n";
  }
  auto doc = ParseFake(f, "/c/0.conf");
  REQUIRE_FALSE(doc.ok());
  CHECK(doc.status().message().rfind("failed to include more than 5 files recursively\n"
                                     "Unable to include /c/5.conf from /c/4.conf at line 1", 0) == 0);
}

TEST_CASE("fpm ini: '#' lines are comments with a warning (php-fpm 8 rejects them)") {
  testing::FakeFiles f;
  f.files["/x.conf"] = "# old style\n[www]\nlisten = 9000\n";
  auto doc = ParseFake(f, "/x.conf");
  REQUIRE(doc.ok());
  REQUIRE(doc->warnings.size() == 1);
  CHECK(doc->warnings[0].rfind("[/x.conf:1] '#' starts a comment here", 0) == 0);
}

struct BadLine {
  const char* text;
  const char* message;
};

TEST_CASE("fpm ini: bad lines name file:line as php-fpm does") {
  const BadLine cases[] = {
      {"[www]\npm.max_children\n",
       "[/x.conf:2] expected 'name = value', found 'pm.max_children' (php-fpm: value is NULL for a "
       "ZEND_INI_PARSER_ENTRY)"},
      {"[www]\nphp_admin_value[x] = a=b\n",
       "[/x.conf:2] syntax error, unexpected '=' (quote a value that contains '=')"},
      {"[www]\nphp_value[ = 1\n", "[/x.conf:2] syntax error, unexpected end of line, expecting ']'"},
      {"[www\nlisten = 9000\n", "[/x.conf:1] syntax error, unexpected end of line, expecting ']'"},
      {"[]\n", "[/x.conf:1] a section needs a name ([global] or a pool name)"},
      {"[www] x\n", "[/x.conf:1] syntax error, unexpected 'x' after the section name"},
      {"[www]\n= 3\n", "[/x.conf:2] syntax error, unexpected '='"},
      {"[www]\nphp_value[a] 3\n", "[/x.conf:2] expected '=' after 'php_value[a]'"},
      {"\n\ninclude = /nowhere.conf\n", ""},  // no match: a warning, not an error
      {"include = /x.conf\n", "failed to include more than 5 files recursively\n"
                              "Unable to include /x.conf from /x.conf at line 1\n"
                              "Unable to include /x.conf from /x.conf at line 1\n"
                              "Unable to include /x.conf from /x.conf at line 1\n"
                              "Unable to include /x.conf from /x.conf at line 1\n"
                              "Unable to include /x.conf from /x.conf at line 1"},
  };
  for (const BadLine& c : cases) {
    const std::string text = c.text;
    CAPTURE(text);
    testing::FakeFiles f;
    f.files["/x.conf"] = c.text;
    auto doc = ParseFake(f, "/x.conf");
    if (*c.message == '\0') {
      CHECK(doc.ok());
    } else {
      REQUIRE_FALSE(doc.ok());
      CHECK(doc.status().message() == c.message);
    }
  }
}

TEST_CASE("fpm ini: a missing main file") {
  testing::FakeFiles f;
  auto doc = ParseFake(f, "/none.conf");
  REQUIRE_FALSE(doc.ok());
  CHECK(doc.status().message() ==
        "failed to open configuration file '/none.conf': /none.conf: No such file or directory");
}

}  // namespace
}  // namespace tfpm::config::fpm

namespace tfpm::config::fpm {
namespace {

// A value is bytes from a file: deep nesting must end in an error, not in
// a stack overflow (the recursive evaluator crashed on this before).
TEST_CASE("fpm ini: deeply nested expressions are refused") {
  const std::string tildes(1000000, '~');
  ValueResult r = ParseValue(" " + tildes + "1", FakeEnv);
  CHECK_FALSE(r.ok);
  CHECK(r.error == "expression nested more than 64 deep");
  const std::string parens = std::string(100000, '(') + "1" + std::string(100000, ')');
  ValueResult p = ParseValue(" " + parens, FakeEnv);
  CHECK_FALSE(p.ok);
  CHECK(p.error == "expression nested more than 64 deep");
  // 63 parentheses and the operand: 64 levels.
  CHECK(ParseValue(" " + std::string(63, '(') + "1" + std::string(63, ')'), FakeEnv).value == "1");
}

}  // namespace
}  // namespace tfpm::config::fpm

namespace tfpm::config::fpm {
namespace {

// pm-ctl config-test of a php-fpm.conf: the caller's rule applies to every
// file the import reads, the included ones too (it used to read them as
// root whoever asked, and the parser's errors quote their lines).
TEST_CASE("fpm ini: CheckedFiles asks the rule for every file, includes too") {
  char tmpl[] = "/tmp/tfpm-checked-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  const std::string main_conf = dir + "/php-fpm.conf", secret_conf = dir + "/secret.conf";
  {
    std::ofstream(main_conf) << "[global]\ninclude = " << secret_conf << "\n";
    std::ofstream(secret_conf) << "[global]\ns3cret = 1\n";
  }
  std::vector<std::string> asked;
  CheckedFiles files(1 << 20, [&](const std::string& path, const struct stat&) {
    asked.push_back(path);
    return path == secret_conf ? Status::InvalidArgument(path + ": not readable by uid 65534") : Status::Ok();
  });
  auto doc = Parse(main_conf, files, ParseOptions{});
  REQUIRE_FALSE(doc.ok());
  CHECK(doc.status().message().find(secret_conf + ": not readable by uid 65534") != std::string::npos);
  CHECK(doc.status().message().find("s3cret") == std::string::npos);
  CHECK(asked == std::vector<std::string>{main_conf, secret_conf});
  // With a rule that allows it, the same include is read.
  CheckedFiles open(1 << 20, [](const std::string&, const struct stat&) { return Status::Ok(); });
  auto read = Parse(main_conf, open, ParseOptions{});
  REQUIRE(read.ok());
  REQUIRE(read->global.size() == 1);
  CHECK(read->global[0].name == "s3cret");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tfpm::config::fpm
