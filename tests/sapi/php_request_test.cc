// The SAPI against the real ZTS libphp: $_SERVER, headers, bodies, the
// php-fpm answers, fastcgi_finish_request(), threads and timers. No sockets:
// requests go through MemoryExchange.
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"
#include "fakes/memory_exchange.h"
#include "fakes/throwing_exchange.h"
#include "sapi/cgi_env.h"
#include "sapi/php_embed.h"
#include "sapi/php_ini_files.h"
#include "sapi/sapi_test_util.h"

namespace tfpm::sapi {
namespace {

TEST_CASE("extension lines by name: a path, a file name or a bare name all name one extension") {
  CHECK(ExtensionName("/usr/lib/php/20220829/mysqli.so") == "mysqli");
  CHECK(ExtensionName("mysqli.so") == "mysqli");
  CHECK(ExtensionName("MySQLi") == "mysqli");
  CHECK(ExtensionName("pdo_mysql") == "pdo_mysql");
  CHECK(ExtensionName("/opt/x/") == "");
  CHECK(ExtensionName(".so") == ".so");  // no base name left: kept, then found nowhere
}

TEST_CASE("hello: body, default headers, no Status line for 200") {
  auto script = Rt().Script("hello.php", "<?php echo 'hi ', php_sapi_name(), ' ', PHP_ZTS;");
  MemoryExchange ex(Base(script));
  RequestOutcome r = ExecuteRequest(ex);
  CHECK(r.http_status == 200);
  CHECK(ex.finished());
  CHECK(ex.Body() == "hi fpm-fcgi 1");
  CHECK(ex.Head().find("Status:") == std::string::npos);
  CHECK(ex.Head().find("Content-type: text/html; charset=UTF-8\r\n") != std::string::npos);
}

TEST_CASE("a classic request's heap peak (busy_trim's input) is its own allocations, not the chunks mapped") {
  const char* zend_alloc = std::getenv("USE_ZEND_ALLOC");
  if (zend_alloc != nullptr && std::string(zend_alloc) == "0") {
    MESSAGE("USE_ZEND_ALLOC=0 (sanitizer build): no Zend heap to measure");
    return;
  }
  auto script = Rt().Script("peak.php", "<?php $a = []; for ($i = 0; $i < (int)$_GET['n']; $i++) $a[] = 'v' . $i;");
  MemoryExchange small(Base(script, "GET", "n=10"));
  const RequestOutcome s = ExecuteRequest(small);
  MemoryExchange big(Base(script, "GET", "n=25000"));  // about 1.2 MiB, inside the first 2 MiB chunk
  const RequestOutcome b = ExecuteRequest(big);
  CHECK(s.memory_peak == b.memory_peak);  // one chunk mapped in both
  CHECK(b.heap_peak > s.heap_peak + (800u << 10));
  CHECK(s.heap_peak > 0);
}

TEST_CASE("status codes are sent as CGI Status lines") {
  auto script = Rt().Script("status.php", "<?php http_response_code((int)$_GET['c']); echo 'x';");
  for (auto [code, line] : std::vector<std::pair<std::string, std::string>>{
           {"404", "Status: 404 Not Found\r\n"}, {"503", "Status: 503 Service Unavailable\r\n"},
           {"201", "Status: 201 Created\r\n"}}) {
    CAPTURE(code);
    MemoryExchange ex(Base(script, "GET", "c=" + code));
    ExecuteRequest(ex);
    CHECK(ex.Head().rfind(line, 0) == 0);
  }
  auto redirect = Rt().Script("redirect.php", "<?php header('Location: /there', true, 302);");
  MemoryExchange ex(Base(redirect));
  ExecuteRequest(ex);
  CHECK(ex.Head().rfind("Status: 302 Found\r\n", 0) == 0);
  CHECK(ex.Head().find("Location: /there\r\n") != std::string::npos);
}

TEST_CASE("$_SERVER holds every param, PHP_SELF is SCRIPT_NAME + PATH_INFO") {
  auto script = Rt().Script("server.php",
                            "<?php echo $_SERVER['HTTP_X_ONE'], '|', $_SERVER['PHP_SELF'], '|',"
                            " $_SERVER['FOO'], '|', getenv('HTTP_X_ONE'), '|', $_GET['q'];");
  Params p = Base(script, "GET", "q=w%20x");
  p.emplace_back("HTTP_X_ONE", "1");
  p.emplace_back("PATH_INFO", "/extra");
  p.emplace_back("FOO", "bar");
  MemoryExchange ex(p);
  ExecuteRequest(ex);
  CHECK(ex.Body() == "1|/server.php/extra|bar|1|w x");
}

TEST_CASE("POST bodies: urlencoded form and php://input") {
  auto script = Rt().Script("post.php", "<?php echo $_POST['a'] ?? '-', '|', file_get_contents('php://input');");
  Params p = Base(script, "POST");
  p.emplace_back("CONTENT_TYPE", "application/x-www-form-urlencoded");
  p.emplace_back("CONTENT_LENGTH", "7");
  MemoryExchange ex(p, "a=1&b=2");
  ExecuteRequest(ex);
  CHECK(ex.Body() == "1|a=1&b=2");
}

TEST_CASE("php-fpm's answers: no script, missing script, forbidden extension") {
  SUBCASE("no SCRIPT_FILENAME") {
    MemoryExchange ex(Params{{"REQUEST_METHOD", "GET"}});
    RequestOutcome r = ExecuteRequest(ex);
    CHECK(r.http_status == 404);
    CHECK(ex.Body() == "File not found.\n");
    CHECK(ex.err().find("Primary script unknown") != std::string::npos);
  }
  SUBCASE("file does not exist") {
    MemoryExchange ex(Base((Rt().dir / "nope.php").string()));
    CHECK(ExecuteRequest(ex).http_status == 404);
    CHECK(ex.Body() == "File not found.\n");
  }
  SUBCASE("extension outside limit_extensions") {
    auto txt = Rt().Script("secret.txt", "<?php echo 'leak';");
    MemoryExchange ex(Base(txt));
    CHECK(ExecuteRequest(ex).http_status == 403);
    CHECK(ex.Body() == "Access denied.\n");
  }
}

TEST_CASE("a fatal error ends the request with 500 and the next request works") {
  auto fatal = Rt().Script("fatal.php", "<?php echo 'before'; undefined_function();");
  MemoryExchange ex(Base(fatal));
  RequestOutcome r = ExecuteRequest(ex);
  CHECK(r.http_status == 500);
  CHECK(ex.Head().rfind("Status: 500 Internal Server Error", 0) == 0);
  CHECK(ex.err().find("Call to undefined function undefined_function()") != std::string::npos);
  auto ok = Rt().Script("ok.php", "<?php echo 'fine';");
  MemoryExchange ex2(Base(ok));
  CHECK(ExecuteRequest(ex2).http_status == 200);
  CHECK(ex2.Body() == "fine");
}

TEST_CASE("fastcgi_finish_request() ends the response and the script goes on") {
  auto marker = Rt().dir / "finished.marker";
  auto script = Rt().Script("finish.php", "<?php echo 'sent'; fastcgi_finish_request(); echo 'dropped';"
                                          " file_put_contents('" + marker.string() + "', 'after');");
  MemoryExchange ex(Base(script));
  ExecuteRequest(ex);
  CHECK(ex.Body() == "sent");
  std::ifstream in(marker);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(content == "after");
}

TEST_CASE("getallheaders() rebuilds header names from HTTP_* params") {
  auto script = Rt().Script("headers.php",
                            "<?php $h = getallheaders(); ksort($h); foreach ($h as $k => $v) echo \"$k=$v;\";");
  Params p = Base(script, "POST");
  p.emplace_back("HTTP_X_CUSTOM_THING", "a");
  p.emplace_back("HTTP_HOST", "example.test");
  p.emplace_back("CONTENT_TYPE", "text/plain");
  MemoryExchange ex(p);
  ExecuteRequest(ex);
  CHECK(ex.Body() == "Content-Type=text/plain;Host=example.test;X-Custom-Thing=a;");
}

TEST_CASE("php_admin_value cannot be changed with ini_set") {
  auto script = Rt().Script("admin.php", "<?php var_dump(ini_set('memory_limit', '1G')); echo ini_get('memory_limit');");
  MemoryExchange ex(Base(script));
  ExecuteRequest(ex);
  CHECK(ex.Body() == "bool(false)\n64M");
}

// Regression: PHP re-runs every INI handler on each new thread, inside
// ts_resource(), so a setting it reports at startup (here session.sid_length,
// deprecated in 8.4, with log_errors on) calls our log_message there, before
// PhpThreadScope's own code ran. The SAPI's thread-local TSRM cache was
// still null, and every worker died on SIGSEGV right after it started.
// Since then what PHP says while a new thread's context is built (it repeats
// MINIT's messages) is dropped before it reaches log_message: the message
// is not logged again, and the thread still serves.
TEST_CASE("startup message on a new PHP thread: not repeated, not a crash, and the thread serves") {
  auto script = Rt().Script("after_startup_message.php", "<?php echo ini_get('session.sid_length');");
  const std::string log_file = (Rt().dir / "thread_start.log").string();
  REQUIRE(log::Init(log_file, log::Level::kNotice).ok());
  std::string body;
  for (int round = 0; round < 2; ++round) {  // a second scope: a recycled interpreter
    std::thread t([&] {
      PhpThreadScope scope;
      MemoryExchange ex(Base(script));
      ExecuteRequest(ex);
      body = ex.Body();
    });
    t.join();
    CHECK(body == "26");
  }
  REQUIRE(log::Init("stderr", log::Level::kNotice).ok());
  std::ifstream in(log_file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t count = 0;
  for (size_t at = text.find("session.sid_length INI setting is deprecated"); at != std::string::npos;
       at = text.find("session.sid_length INI setting is deprecated", at + 1)) {
    ++count;
  }
  CHECK_MESSAGE(count == 0, text);  // MINIT said it once; new threads and recycled interpreters do not
}

TEST_CASE("threads: each interpreter serves its own requests concurrently") {
  auto script = Rt().Script("id.php",
                            "<?php $x = str_repeat($_GET['id'], 100); usleep(100); echo $_GET['id'], ':', md5($x);");
  constexpr int kThreads = 4, kRequests = 150;
  std::atomic<int> wrong{0}, done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PhpThreadScope scope;
      for (int i = 0; i < kRequests; ++i) {
        const std::string id = std::to_string(t * 100000 + i);
        MemoryExchange ex(Base(script, "GET", "id=" + id));
        ExecuteRequest(ex);
        // The body starts with this request's own id (never another
        // thread's) followed by a 32-digit digest.
        const std::string body = ex.Body();
        if (body.rfind(id + ":", 0) != 0 || body.size() != id.size() + 1 + 32) wrong++;
        done++;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(done == kThreads * kRequests);
  CHECK(wrong == 0);
}

TEST_CASE("max_execution_time: per-thread timer stops a Fiber busy loop, other threads carry on") {
  // microtime(): ThreadSanitizer delivers signals only at calls it
  // intercepts; the loop stays CPU-bound either way.
#if defined(__SANITIZE_THREAD__)
  // TSan cannot follow the timeout's longjmp out of a Fiber's stack (PHP's
  // uninstrumented context switch), so under TSan the loop runs outside one.
  auto busy = Rt().Script("busy.php", "<?php set_time_limit(1); while (true) { $t = microtime(true); }");
#else
  auto busy = Rt().Script("busy.php",
                          "<?php set_time_limit(1); $f = new Fiber(function () {"
                          " while (true) { $t = microtime(true); } });"
                          " $f->start();");
#endif
  auto fiber_ok = Rt().Script("fiber_ok.php",
                              "<?php set_time_limit(5); $f = new Fiber(function () {"
                              " for ($i = 0; $i < 50; $i++) { echo 'x'; Fiber::suspend(); } });"
                              " $f->start(); while (!$f->isTerminated()) { $f->resume(); usleep(1000); }");
  std::string busy_err;
  int busy_status = 0;
  std::atomic<int> good{0};
  std::thread killer([&] {
    PhpThreadScope scope;
    MemoryExchange ex(Base(busy));
    busy_status = ExecuteRequest(ex).http_status;
    busy_err = ex.err();
  });
  std::vector<std::thread> others;
  for (int t = 0; t < 3; ++t) {
    others.emplace_back([&] {
      PhpThreadScope scope;
      for (int i = 0; i < 5; ++i) {
        MemoryExchange ex(Base(fiber_ok));
        ExecuteRequest(ex);
        if (ex.Body() == std::string(50, 'x')) good++;
      }
    });
  }
  killer.join();
  for (auto& t : others) t.join();
  CHECK(busy_status == 500);
  CHECK(busy_err.find("Maximum execution time of 1 second exceeded") != std::string::npos);
  CHECK(good == 15);
}

TEST_CASE("max_execution_time: a process forked from a PHP thread makes its own timer, and it fires") {
  // The timer PHP created before fork() does not exist in the child. PHP
  // tells an inherited timer by its pid (EG(pid) against getpid(); our
  // libphp caches the pid and refreshes it in a fork() child,
  // tools/lib/php-patches/zts/0003-timer-pid.patch): a child that took
  // its parent's timer for its own would fail to arm it ("Could not set
  // timer") or never time out.
  // By pid, not /proc/self: PHP's realpath cache would keep the parent's
  // /proc/self for the child.
  auto timers = Rt().Script("timers.php",
                            "<?php echo preg_match_all('/^notify: signal\\/tid\\./m',"
                            " file_get_contents('/proc/' . getmypid() . '/timers'));");
  auto busy = Rt().Script("busy_fork.php", "<?php set_time_limit(1); while (true) { $t = microtime(true); }");
  // ThreadSanitizer stops intercepting in the child of a multi-threaded
  // fork(), and with that delivering signals: the child's busy loop would
  // never see its timer's. There the child only counts its timers and
  // arms its timer (a request; arming the parent's would fail).
#if defined(__SANITIZE_THREAD__)
  constexpr bool kChildTimesOut = false;
#else
  constexpr bool kChildTimesOut = true;
#endif
  std::string parent_timers, child_report;
  int child_status = -1;
  std::thread t([&] {
    PhpThreadScope scope;
    MemoryExchange before(Base(timers));
    ExecuteRequest(before);  // the thread's timer exists from here on
    parent_timers = before.Body();
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // The child: this thread alone, its interpreter as it was. Reports
      // "<timers>|<status>|<error>" and exits without running destructors.
      ::close(fds[0]);
      MemoryExchange count(Base(timers));
      const int counted = ExecuteRequest(count).http_status;
      MemoryExchange ex(Base(kChildTimesOut ? busy : timers));
      const int status = ExecuteRequest(ex).http_status;
      const std::string report = count.Body() + "|" + std::to_string(counted) + "|" + std::to_string(status) +
                                 "|" + ex.err();
      const ssize_t n = ::write(fds[1], report.data(), report.size());
      ::_exit(n == static_cast<ssize_t>(report.size()) ? 0 : 1);
    }
    ::close(fds[1]);
    // A child whose timer never fires is killed after 30 s (its report
    // fits in the pipe: it never waits for this read).
    int wstatus = 0;
    pid_t waited = 0;
    for (int i = 0; i < 3000 && (waited = ::waitpid(child, &wstatus, WNOHANG)) == 0; ++i) ::usleep(10000);
    if (waited == 0) {
      ::kill(child, SIGKILL);
      waited = ::waitpid(child, &wstatus, 0);
    }
    REQUIRE(waited == child);
    child_status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) child_report.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    // The parent's thread still has its timer, and it still fires.
    MemoryExchange after(Base(busy));
    CHECK(ExecuteRequest(after).http_status == 500);
    CHECK(after.err().find("Maximum execution time of 1 second exceeded") != std::string::npos);
  });
  t.join();
  CHECK(parent_timers != "0");
  CHECK(child_status == 0);
  // The child had one timer, its own (timers are not inherited), armed
  // it, and it ended the busy loop.
  if (kChildTimesOut) {
    CHECK_MESSAGE(child_report.rfind("1|200|500|", 0) == 0, child_report);
    CHECK_MESSAGE(child_report.find("Maximum execution time of 1 second exceeded") != std::string::npos,
                  child_report);
  } else {
    CHECK_MESSAGE(child_report == "1|200|200|", child_report);
  }
}

TEST_CASE("a thread's interpreter can be recycled (max_requests), and a retired one drops its persistent sockets") {
  // A pfsockopen() socket lives as long as the interpreter: two requests in
  // one PhpThreadScope share one connection; a new scope is a new
  // interpreter, a new connection, and the old scope's socket is closed.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 16) == 0);
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  auto script = Rt().Script("persistent.php", "<?php $fp = pfsockopen('127.0.0.1', " +
                                                  std::to_string(ntohs(addr.sin_port)) +
                                                  ", $no, $err, 5); fwrite($fp, 'x'); echo $fp ? 'ok' : $err;");
  std::thread t([&] {
    for (int round = 0; round < 3; ++round) {
      PhpThreadScope scope;
      for (int request = 0; request < 2; ++request) {
        MemoryExchange ex(Base(script));
        ExecuteRequest(ex);
        CHECK(ex.Body() == "ok");
      }
    }
  });
  t.join();
  int connections = 0;
  for (;;) {
    const int c = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) break;
    ++connections;
    char buf[16];
    // Both requests of the round wrote on this connection; then the
    // retired interpreter closed it (recv 0), rather than leaving it open
    // (EAGAIN).
    CHECK(::recv(c, buf, sizeof buf, 0) == 2);
    CHECK(::recv(c, buf, sizeof buf, 0) == 0);
    ::close(c);
  }
  ::close(listener);
  CHECK(connections == 3);
}

// ---- php-fpm's path rules (cgi_env.h), without PHP ----------------------

struct PathFixture {
  fs::path root;
  std::vector<std::pair<std::string, std::string>> store;
  std::vector<fastcgi::Exchange::Param> params;
  CgiEnv env;
  PathFixture() {
    root = Rt().dir / "docroot";
    fs::create_directories(root / "sub");
    std::ofstream(root / "index.php") << "<?php";
    std::ofstream(root / "sub" / "page.php") << "<?php";
  }
  std::string R(const std::string& rel) const { return root.string() + rel; }
  ScriptPaths Run(std::vector<std::pair<std::string, std::string>> p, bool fix = true) {
    store = std::move(p);
    params.clear();
    for (const auto& [n, v] : store) params.emplace_back(n, v);
    env.Reset(params);
    ScriptPathOptions o;
    o.fix_pathinfo = fix;
    return ComputeScriptPaths(env, o);
  }
  std::string Get(std::string_view name) const {
    auto v = env.Get(name);
    return v ? std::string(*v) : "(unset)";
  }
};

TEST_CASE("paths: nginx fastcgi_split_path_info leaves the params alone") {
  PathFixture f;
  ScriptPaths p = f.Run({{"SCRIPT_FILENAME", f.R("/index.php")}, {"SCRIPT_NAME", "/index.php"},
                         {"PATH_INFO", "/a/b"}, {"DOCUMENT_ROOT", f.root.string()}});
  CHECK(p.script == f.R("/index.php"));
  CHECK(p.script_name == "/index.php");
  CHECK(f.Get("PATH_INFO") == "/a/b");
  CHECK(f.Get("ORIG_SCRIPT_FILENAME") == "(unset)");
}

TEST_CASE("paths: without a split, the script is found by cutting at '/'") {
  PathFixture f;
  ScriptPaths p = f.Run({{"SCRIPT_FILENAME", f.R("/sub/page.php/x/y")}, {"SCRIPT_NAME", "/sub/page.php/x/y"},
                         {"DOCUMENT_ROOT", f.root.string() + "/"}});
  CHECK(p.script == f.R("/sub/page.php"));
  CHECK(f.Get("SCRIPT_FILENAME") == f.R("/sub/page.php"));
  CHECK(f.Get("ORIG_SCRIPT_FILENAME") == f.R("/sub/page.php/x/y"));
  // No PATH_INFO param: php-fpm sets none (it only shortens a sent one).
  CHECK(f.Get("PATH_INFO") == "(unset)");
  CHECK(f.Get("PATH_TRANSLATED") == f.root.string());
  CHECK(p.script_name == "/sub/page.php/x/y");
}

TEST_CASE("paths: CVE-2019-11043, an empty PATH_INFO shorter than the cut") {
  PathFixture f;
  ScriptPaths p = f.Run({{"SCRIPT_FILENAME", f.R("/index.php/PHP\nis_the_shit.php")},
                         {"SCRIPT_NAME", "/index.php/PHP\nis_the_shit.php"},
                         {"PATH_INFO", ""}, {"DOCUMENT_ROOT", f.root.string()}});
  CHECK(p.script == f.R("/index.php"));
  CHECK(f.Get("PATH_INFO") == "");  // never read before its start
  CHECK(f.Get("ORIG_PATH_INFO") == "(unset)");
}

TEST_CASE("paths: mod_fastcgi style PATH_INFO carries the script name") {
  PathFixture f;
  ScriptPaths p = f.Run({{"SCRIPT_FILENAME", f.R("/index.php/t")}, {"SCRIPT_NAME", "/index.php/t"},
                         {"PATH_INFO", "/index.php/t"}, {"DOCUMENT_ROOT", f.root.string()}});
  CHECK(p.script == f.R("/index.php"));
  CHECK(f.Get("PATH_INFO") == "/t");
  CHECK(f.Get("ORIG_PATH_INFO") == "/index.php/t");
  CHECK(p.script_name == "/index.php");
  CHECK(f.Get("ORIG_SCRIPT_NAME") == "/index.php/t");
  CHECK(f.Get("PATH_TRANSLATED") == f.R("/t"));
}

TEST_CASE("paths: Apache proxy:fcgi:// and proxy:balancer:// prefixes") {
  PathFixture f;
  ScriptPaths p = f.Run({{"SCRIPT_FILENAME", "proxy:fcgi://127.0.0.1:9000" + f.R("/index.php/p/q") + "?a=1"},
                         {"SCRIPT_NAME", "/index.php/p/q"}, {"DOCUMENT_ROOT", f.root.string()}});
  CHECK(p.script == f.R("/index.php"));
  CHECK(f.Get("PATH_INFO") == "/p/q");
  CHECK(p.script_name == "/index.php");
  CHECK(f.Get("ORIG_SCRIPT_NAME") == "/index.php/p/q");
  CHECK(f.Get("ORIG_SCRIPT_FILENAME") == f.R("/index.php/p/q"));  // prefix and query gone
  p = f.Run({{"SCRIPT_FILENAME", "PROXY:BALANCER://c" + f.R("/sub/page.php")}, {"SCRIPT_NAME", "/sub/page.php"}});
  CHECK(p.script == f.R("/sub/page.php"));
  CHECK(f.Get("SCRIPT_FILENAME") == f.R("/sub/page.php"));
}

TEST_CASE("paths: no file along the path, '..' segments, fix_pathinfo=0") {
  PathFixture f;
  ScriptPaths p = f.Run({{"SCRIPT_FILENAME", f.R("/none/x.php")}, {"SCRIPT_NAME", "/none/x.php"}});
  CHECK_FALSE(p.script.has_value());
  CHECK(f.Get("SCRIPT_FILENAME") == "(unset)");
  CHECK(f.Get("ORIG_SCRIPT_FILENAME") == f.R("/none/x.php"));

  p = f.Run({{"SCRIPT_FILENAME", f.R("/sub/../index.php")}, {"SCRIPT_NAME", "/index.php"}});
  CHECK_FALSE(p.script.has_value());
  CHECK(IsValidScriptPath("/a/..b/c"));
  CHECK(IsValidScriptPath("/a/b.."));
  CHECK_FALSE(IsValidScriptPath("/a/../c"));
  CHECK_FALSE(IsValidScriptPath(".."));
  CHECK_FALSE(IsValidScriptPath("/x..y/.."));

  p = f.Run({{"SCRIPT_FILENAME", f.R("/index.php")}, {"SCRIPT_NAME", "/index.php"}, {"PATH_INFO", "/i"},
             {"PATH_TRANSLATED", f.R("/i")}},
            /*fix=*/false);
  CHECK(p.script == f.R("/i"));       // PATH_TRANSLATED wins without cgi.discard_path
  CHECK(p.script_name == "/i");       // PHP_SELF from PATH_INFO ("pre 4.3")
  CHECK(f.Get("ORIG_PATH_INFO") == "(unset)");
}

TEST_CASE("CgiEnv: a name sent twice keeps its first place and its last value") {
  std::vector<fastcgi::Exchange::Param> params = {{"A", "1"}, {"B", "2"}, {"A", "3"}};
  CgiEnv env;
  env.Reset(params);
  env.Set("C", "4");
  env.Erase("B");
  std::string order;
  env.ForEachForRegistration([&](std::string_view n, std::string_view v) {
    order.append(n).append("=").append(v).append(";");
  });
  CHECK(order == "C=4;A=3;");  // newest first, as php-fpm's table
  CHECK(std::string(env.GetCString("A")) == "3");
}

// CgiEnv scans its table up to 64 entries and indexes it beyond: both must
// answer as php-fpm's table does. A reference model (a list searched newest
// first) against random Reset/Set/Erase/Get around and across the switch,
// with names that repeat and names of equal length.
TEST_CASE("CgiEnv: the scanned and the indexed table answer alike, across the switch") {
  struct Ref {
    struct E { std::string name, value; bool erased = false; };
    std::vector<E> entries;
    E* Newest(const std::string& n) {
      for (auto it = entries.rbegin(); it != entries.rend(); ++it) if (it->name == n) return &*it;
      return nullptr;
    }
    E* Live(const std::string& n) { E* e = Newest(n); return e && !e->erased ? e : nullptr; }
  };
  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  auto next = [&seed](uint64_t n) {
    seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
    return seed % n;
  };
  CgiEnv env;
  for (size_t size : {3, 40, 63, 64, 65, 66, 130, 700}) {
    for (int round = 0; round < 4; ++round) {
      // Names from a pool a bit smaller than the request: some repeat.
      const size_t pool = size - size / 8;
      std::vector<std::string> names, values;
      for (size_t i = 0; i < size; ++i) {
        names.push_back("N" + std::to_string(next(pool)));
        values.push_back("v" + std::to_string(i));
      }
      std::vector<fastcgi::Exchange::Param> params;
      for (size_t i = 0; i < size; ++i) params.push_back({names[i], values[i]});
      Ref ref;
      for (size_t i = 0; i < size; ++i) {
        if (Ref::E* e = ref.Newest(names[i])) e->value = values[i];
        else ref.entries.push_back({names[i], values[i]});
      }
      env.Reset(params);
      // Set/Erase push the table across 64 entries and back through names
      // that were erased (a new entry at the end, as php-fpm's FCGI_PUTENV).
      std::vector<std::string> keep;  // Set's values must outlive the checks
      for (int op = 0; op < 200; ++op) {
        const std::string n = "N" + std::to_string(next(pool + 40));
        if (next(3) == 0) {
          env.Erase(n);
          if (Ref::E* e = ref.Live(n)) e->erased = true;
        } else {
          keep.push_back("s" + std::to_string(op));
          env.Set(n, keep.back());
          if (Ref::E* e = ref.Live(n)) e->value = keep.back();
          else ref.entries.push_back({n, keep.back()});
        }
        const std::string probe = "N" + std::to_string(next(pool + 40));
        const Ref::E* want = ref.Live(probe);
        const auto got = env.Get(probe);
        REQUIRE_MESSAGE(got.has_value() == (want != nullptr), "size ", size, " op ", op, " ", probe);
        if (want) REQUIRE(*got == want->value);
      }
      std::string order, want_order;
      env.ForEachForRegistration([&](std::string_view n, std::string_view v) {
        order.append(n).append("=").append(v).append(";");
      });
      for (auto it = ref.entries.rbegin(); it != ref.entries.rend(); ++it) {
        if (!it->erased) want_order += it->name + "=" + it->value + ";";
      }
      CHECK(order == want_order);
    }
  }
}

// A request whose names all have the same length, first, middle and last
// byte defeats the cheap hash of an ordinary table: all of them land on one
// probe chain. Past 64 names the index is keyed, so they spread again; each
// one must still be found with its own value, and a repeated name keep its
// last one.
TEST_CASE("CgiEnv: thousands of names chosen to share one tag are all found") {
  std::vector<std::string> names;
  for (int i = 0; i < 5000; ++i) {
    const std::string hi = std::to_string(100 + i / 100).substr(1), lo = std::to_string(100 + i % 100).substr(1);
    names.push_back("X" + hi + "_" + lo + "Y");  // 7 bytes; [0], [3] and [6] fixed
  }
  std::vector<std::string> values;
  for (int i = 0; i < 5000; ++i) values.push_back("v" + std::to_string(i));
  std::vector<fastcgi::Exchange::Param> params;
  for (int i = 0; i < 5000; ++i) params.push_back({names[i], values[i]});
  params.push_back({names[7], "last"});
  CgiEnv env;
  env.Reset(params);
  for (int i = 0; i < 5000; ++i) {
    REQUIRE(env.Get(names[i]) == (i == 7 ? std::string("last") : values[i]));
  }
  CHECK_FALSE(env.Get("X99_99Y").has_value());
}

// Names that share a tag (length, first, middle and last byte) are told
// apart by comparing them whole: for every length up to 40, names that
// differ from another in one byte, at each position the tag does not
// cover, are each found with their own value, in an ordinary table (one
// length per request) and in a keyed one (all lengths in one request).
TEST_CASE("CgiEnv: names with one tag that differ in a single byte are told apart, at every position") {
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> by_length(41);
  for (size_t len = 0; len <= 40; ++len) {
    const std::string base(len, 'A');
    by_length[len].push_back(base);
    for (size_t pos = 0; pos < len; ++pos) {
      if (pos == 0 || pos == len / 2 || pos == len - 1) continue;  // in the tag
      std::string variant = base;
      variant[pos] = 'B';
      by_length[len].push_back(variant);
    }
  }
  auto check = [](const std::vector<std::string>& request) {
    std::vector<std::string> values;
    for (size_t i = 0; i < request.size(); ++i) values.push_back("v" + std::to_string(i));
    std::vector<fastcgi::Exchange::Param> params;
    for (size_t i = 0; i < request.size(); ++i) params.push_back({request[i], values[i]});
    CgiEnv env;
    env.Reset(params);
    for (size_t i = 0; i < request.size(); ++i) {
      REQUIRE_MESSAGE(env.Get(request[i]) == values[i], "name of ", request[i].size(), " bytes, #", i);
    }
    // A name one byte longer or shorter than each is not found.
    for (const std::string& n : request) {
      if (std::find(request.begin(), request.end(), n + "A") == request.end()) {
        CHECK_FALSE(env.Get(n + "A").has_value());
      }
    }
  };
  std::vector<std::string> all;
  for (const auto& group : by_length) {
    check(group);
    all.insert(all.end(), group.begin(), group.end());
  }
  REQUIRE(all.size() > 64);  // the keyed table
  check(all);
}

// Each PHP thread keeps one CgiEnv for its life: one request with
// max_params params must not leave its table's size behind.
TEST_CASE("CgiEnv: a request with many params leaves no large table for the next ones") {
  std::vector<std::string> names;
  for (int i = 0; i < 100000; ++i) names.push_back("P" + std::to_string(i));
  std::vector<fastcgi::Exchange::Param> many, few = {{"A", "1"}, {"B", "2"}};
  for (const std::string& n : names) many.push_back({n, "v"});
  CgiEnv env;
  env.Reset(few);
  const size_t small = env.HeldBytes();
  env.Reset(many);
  CHECK(env.HeldBytes() > 4000000);
  CHECK(std::string(env.GetCString("P99999")) == "v");
  env.Reset(few);
  CHECK(env.HeldBytes() <= 64 * 1024);
  CHECK(std::string(env.GetCString("B")) == "2");
  CHECK(env.GetCString("P1") == nullptr);
  env.Reset(few);
  CHECK(env.HeldBytes() <= std::max<size_t>(small, 1024));  // ordinary requests: no regrowth
}

TEST_CASE("PHP_VALUE and PHP_ADMIN_VALUE last for their request only") {
  auto script = Rt().Script("ini.php",
                            "<?php echo ini_get('precision'), '|', var_export(ini_set('serialize_precision', '4'), true),"
                            " '|', ini_get('serialize_precision');");
  std::thread t([&] {  // one interpreter serves all three requests
    PhpThreadScope scope;
    Params p = Base(script);
    p.emplace_back("PHP_VALUE", "precision=3");
    p.emplace_back("PHP_ADMIN_VALUE", "serialize_precision=8");
    MemoryExchange first(p);
    ExecuteRequest(first);
    CHECK(first.Body() == "3|false|8");
    MemoryExchange second(Base(script));
    ExecuteRequest(second);
    CHECK(second.Body() == "14|'-1'|4");
    Params bad = Base(script);
    bad.emplace_back("PHP_VALUE", "memory_limit=1G\nno_such_entry=1");
    MemoryExchange third(bad);
    ExecuteRequest(third);
    CHECK(third.err().find("unable to set 'memory_limit'") != std::string::npos);  // admin key
    CHECK(third.err().find("unable to set 'no_such_entry'") != std::string::npos);
  });
  t.join();
}

TEST_CASE("an exception of ours during a request fails that request; PHP's request is still shut down") {
  // Before: the exception unwound through ExecuteRequest (from a SAPI
  // callback: through PHP's frames into std::terminate) and skipped
  // php_request_shutdown(): the request's PHP_VALUE stayed for the next
  // request of the thread, with the rest of its state.
  auto ini = Rt().Script("ini_after_failure.php", "<?php echo ini_get('precision');");
  auto missing = (Rt().dir / "no_such_script.php").string();
  std::thread t([&] {
    PhpThreadScope scope;
    // From our code after request startup (the message to the web server
    // about the missing script).
    Params p = Base(missing);
    p.emplace_back("PHP_VALUE", "precision=5");
    testing::ThrowingExchange failing(p, /*throw_on_stdout=*/false, /*throw_on_stderr=*/true);
    CHECK_THROWS_WITH_AS(ExecuteRequest(failing), "injected: stderr", std::runtime_error);
    CHECK_FALSE(failing.finished());  // not completed: the connection is closed instead
    MemoryExchange next(Base(ini));
    ExecuteRequest(next);
    CHECK(next.Body() == "14");
    // From a SAPI callback (ub_write), inside PHP.
    Params q = Base(ini);
    q.emplace_back("PHP_VALUE", "precision=6");
    testing::ThrowingExchange writing(q, /*throw_on_stdout=*/true, /*throw_on_stderr=*/false);
    CHECK_THROWS_WITH_AS(ExecuteRequest(writing), "injected: stdout", std::runtime_error);
    MemoryExchange after(Base(ini));
    ExecuteRequest(after);
    CHECK(after.Body() == "14");
    CHECK(after.finished());
  });
  t.join();
}

}  // namespace
}  // namespace tfpm::sapi
