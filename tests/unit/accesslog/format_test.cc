#include "accesslog/format.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <map>
#include <string>
#include <vector>

namespace tfpm::accesslog {
namespace {

// Renders `format` for `r`; the format must compile.
std::string Render(std::string_view format, const Record& r, bool* whole = nullptr) {
  auto f = Format::Compile(format);
  REQUIRE_MESSAGE(f.ok(), f.status().message());
  std::string out;
  bool ok = f->Render(r, &out);
  if (whole != nullptr) *whole = ok;
  return out;
}

std::string CompileError(std::string_view format) {
  auto f = Format::Compile(format);
  REQUIRE_FALSE(f.ok());
  return f.status().message();
}

// Timestamps are rendered in UTC here, whatever the machine's zone.
struct Utc {
  Utc() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};

std::map<std::string, std::string, std::less<>> g_env;

std::optional<std::string_view> Env(const void*, std::string_view name) {
  auto it = g_env.find(name);
  if (it == g_env.end()) return std::nullopt;
  return std::string_view(it->second);
}

Record Sample() {
  Record r;
  r.remote_addr = "127.0.0.1";
  r.auth_user = "alice";
  r.method = "GET";
  r.request_uri = "/index.php";
  r.query_string = "a=1&b=2";
  r.script_filename = "/srv/www/index.php";
  r.content_length = 42;
  r.status = 404;
  r.pool = "www";
  r.pid = 1234;
  r.ppid = 1;
  r.accepted = 1700000000;  // 14/Nov/2023:22:13:20 UTC
  r.now = 1700000001;
  r.duration_us = 1234567;
  r.memory_peak = 3 * 1024 * 1024 + 512;
  r.cpu_user_us = 300000;
  r.cpu_system_us = 100000;
  r.env = Env;
  return r;
}

TEST_CASE("the default format is php-fpm's") {
  Utc utc;
  CHECK(Render(kDefaultFormat, Sample()) == "127.0.0.1 - alice 14/Nov/2023:22:13:20 +0000 \"GET /index.php\" 404\n");
}

TEST_CASE("every plain token") {
  Record r = Sample();
  CHECK(Render("%%", r) == "%\n");
  CHECK(Render("%f|%l|%m|%n|%p|%P|%q|%Q|%r|%R|%s|%u", r) ==
        "/srv/www/index.php|42|GET|www|1234|1|a=1&b=2|?|/index.php|127.0.0.1|404|alice\n");
}

TEST_CASE("empty values: some show '-', others nothing, as php-fpm") {
  Record r;
  CHECK(Render("[%f][%m][%n][%R][%u][%q][%Q][%r]", r) == "[-][-][-][-][][][][]\n");
}

TEST_CASE("%d with its modifiers") {
  Record r = Sample();
  CHECK(Render("%d", r) == "1.235\n");
  CHECK(Render("%{seconds}d", r) == "1.235\n");
  CHECK(Render("%{milliseconds}d %{milli}d %{mili}d %{MILISECONDS}d", r) ==
        "1234.567 1234.567 1234.567 1234.567\n");
  CHECK(Render("%{microseconds}d %{micro}d", r) == "1234567 1234567\n");
}

TEST_CASE("%M with its modifiers") {
  Record r = Sample();
  CHECK(Render("%M %{bytes}M", r) == "3146240 3146240\n");
  CHECK(Render("%{kilo}M %{kilobytes}M", r) == "3072 3072\n");
  CHECK(Render("%{mega}M %{Megabytes}M", r) == "3 3\n");
}

TEST_CASE("%C: CPU time over wall time, in percent") {
  Record r = Sample();
  r.duration_us = 2000000;
  CHECK(Render("%C %{total}C %{user}C %{system}C", r) == "20.00 20.00 15.00 5.00\n");
  auto f = Format::Compile("%{user}C");
  CHECK(f->uses_cpu());
  CHECK(f->uses_cpu_split());
  CHECK_FALSE(Format::Compile("%C")->uses_cpu_split());
  CHECK_FALSE(Format::Compile(kDefaultFormat)->uses_cpu());
}

TEST_CASE("%e reads the request's params") {
  g_env = {{"HTTP_HOST", "example.org"}, {"EMPTY", ""}};
  Record r = Sample();
  CHECK(Render("%{HTTP_HOST}e %{EMPTY}e %{MISSING}e", r) == "example.org  -\n");
  r.env = nullptr;
  CHECK(Render("%{HTTP_HOST}e", r) == "-\n");
}

TEST_CASE("%o matches header lines as php-fpm does") {
  Record r = Sample();
  std::vector<std::string_view> headers = {"X-Powered-By: PHP/8.4", "Content-type: text/html; charset=UTF-8",
                                           "xy: ab", "Empty: ", "X-Short:"};
  r.headers = headers;
  CHECK(Render("%{Content-type}o", r) == "text/html; charset=UTF-8\n");
  CHECK(Render("%{content-type}o", r) == "-\n");  // case-sensitive
  CHECK(Render("%{X-Missing}o", r) == "-\n");
  CHECK(Render("%{Empty}o", r) == "-\n");         // nothing after ": "
  CHECK(Render("%{X-Short}o", r) == "-\n");
  // php-fpm looks for the name anywhere in the line, then checks for ": "
  // after as many bytes as the name has: "ab" finds "xy: ab".
  CHECK(Render("%{ab}o", r) == "ab\n");
  CHECK(Format::Compile("%{X}o")->uses_headers());
}

TEST_CASE("TakeHeader keeps the line each %o token reads, and Render writes the same from those alone") {
  const std::string_view fmt = "%{X-A}o %{X-B}o %{X-A}o %{ab}o %{Nope}o";
  auto f = Format::Compile(fmt);
  REQUIRE(f.ok());
  CHECK(f->header_tokens() == 5);
  CHECK(Format::Compile("%s %{HTTP_HOST}e")->header_tokens() == 0);
  std::vector<std::string_view> all = {"X-A: 1", "X-B: 2", "X-A: 3", "Content-type: text/html",
                                       "X-B: 4", "ab: x", "xy: ab"};
  std::vector<uint8_t> taken(f->header_tokens(), 0);
  std::vector<std::string_view> picked;
  for (std::string_view line : all) {
    if (f->TakeHeader(line, taken)) picked.push_back(line);
  }
  // The first line of each name; "X-A: 1" serves both %{X-A}o tokens;
  // "xy: ab" also names "ab" (php-fpm's match) but comes after "ab: x".
  CHECK(picked == std::vector<std::string_view>{"X-A: 1", "X-B: 2", "ab: x"});
  CHECK(taken == std::vector<uint8_t>{1, 1, 1, 1, 0});
  Record r = Sample();
  r.headers = all;
  const std::string full = Render(fmt, r);
  CHECK(full == "1 2 1 x -\n");
  r.headers = picked;
  CHECK(Render(fmt, r) == full);
}

TEST_CASE("%t and %T with and without strftime formats") {
  Utc utc;
  Record r = Sample();
  CHECK(Render("%t|%T", r) == "14/Nov/2023:22:13:20 +0000|14/Nov/2023:22:13:21 +0000\n");
  CHECK(Render("%{%Y-%m-%dT%H:%M:%S}t %{%s}T", r) == "2023-11-14T22:13:20 1700000001\n");
  // A result longer than php-fpm's 128-byte buffer comes out empty.
  CHECK(Render("[%{" + std::string(70, 'x') + "%Y" + std::string(70, 'y') + "}t]", r) == "[]\n");
}

TEST_CASE("format errors carry php-fpm's messages") {
  CHECK(CompileError("%x") == "Invalid token in the access.format (%x)");
  CHECK(CompileError("%R %Z") == "Invalid token in the access.format (%Z)");
  CHECK(CompileError("%{abc") == "missing closing embrace in the access.format");
  CHECK(CompileError("%{abc}") == "missing closing embrace in the access.format");
  CHECK(CompileError("%{x}s") == "embrace is not allowed for modifier %s");
  CHECK(CompileError("%{x}%") == "embrace is not allowed for modifier %%");
  CHECK(CompileError("%e") == "the name of the environment variable must be set between embraces for %e");
  CHECK(CompileError("%o") == "the name of the header must be set between embraces for %o");
  CHECK(CompileError("%{cpu}C") == "only 'total', 'user' or 'system' are allowed as a modifier for %C ('cpu')");
  CHECK(CompileError("%{hours}d") ==
        "only 'seconds', 'milli', 'milliseconds', 'micro' or 'microseconds' are allowed as a modifier for %d ('hours')");
  CHECK(CompileError("%{giga}M") ==
        "only 'bytes', 'kilo', 'kilobytes', 'mega' or 'megabytes' are allowed as a modifier for %M ('giga')");
}

TEST_CASE("parsing edge cases as php-fpm") {
  Record r = Sample();
  CHECK(Render("100%", r) == "100\n");           // a trailing '%' is dropped
  CHECK(Render("%{}s", r) == "404\n");           // empty braces = no modifier
  CHECK(Render("%{a}{micro}d", r) == "1234567\n");  // the last braces win
  CHECK(Render("", r).empty());                  // an empty line is not written
  CHECK(Render("%q", Record{}).empty());
}

TEST_CASE("lines are cut at 1024 bytes") {
  Record r = Sample();
  std::string uri(2000, 'u');
  r.request_uri = uri;
  bool whole = true;
  std::string line = Render("%m %r", r, &whole);
  CHECK_FALSE(whole);
  CHECK(line.size() == kMaxLine + 1);
  CHECK(line.back() == '\n');
  CHECK(line.substr(0, 5) == "GET u");
  // Literal text may fill the line exactly.
  line = Render(std::string(kMaxLine, 'a'), r, &whole);
  CHECK(whole);
  CHECK(line.size() == kMaxLine + 1);
  line = Render(std::string(kMaxLine + 5, 'a') + "%s", r, &whole);
  CHECK_FALSE(whole);
  CHECK(line == std::string(kMaxLine, 'a') + "\n");
}

TEST_CASE("access.suppress_path") {
  const std::vector<std::string> paths = {"/ping", "/health.php"};
  Record r;
  r.method = "GET";
  r.request_uri = "/ping";
  r.status = 200;
  CHECK(Suppressed(r, paths));
  r.method = "HEAD";
  CHECK(Suppressed(r, paths));
  r.status = 204;
  CHECK(Suppressed(r, paths));
  SUBCASE("never with a query string") { r.query_string = "x=1"; CHECK_FALSE(Suppressed(r, paths)); }
  SUBCASE("never for other methods") { r.method = "POST"; CHECK_FALSE(Suppressed(r, paths)); }
  SUBCASE("never unless 2xx") {
    r.status = 404;
    CHECK_FALSE(Suppressed(r, paths));
    r.status = 301;
    CHECK_FALSE(Suppressed(r, paths));
  }
  SUBCASE("never with a body") { r.content_length = 1; CHECK_FALSE(Suppressed(r, paths)); }
  SUBCASE("only exact matches") {
    r.request_uri = "/ping/";
    CHECK_FALSE(Suppressed(r, paths));
  }
  CHECK_FALSE(Suppressed(r, {}));
}

}  // namespace
}  // namespace tfpm::accesslog
