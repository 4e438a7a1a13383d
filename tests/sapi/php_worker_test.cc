// Worker mode against the real ZTS libphp: tfpm_handle_request() serves
// MemoryExchange requests from a scripted source. Each "reset" case makes
// request A change some state and checks request B does not see it, so it
// fails if that state leaks.
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fakes/memory_exchange.h"
#include "fakes/throwing_exchange.h"
#include "sapi/php_embed.h"
#include "sapi/sapi_test_util.h"

namespace tfpm::sapi {
namespace {

// Hands out prepared requests, then says stop.
class ScriptedSource final : public RequestSource {
 public:
  MemoryExchange& Add(Params params, std::string body = "") {
    all_.push_back(std::make_unique<MemoryExchange>(params, std::move(body)));
    queue_.push_back(all_.back().get());
    return *all_.back();
  }
  bool Next(Serve& serve) override {
    if (queue_.empty()) return false;
    MemoryExchange* ex = queue_.front();
    queue_.pop_front();
    outcomes.push_back(serve(*ex));
    return true;
  }
  std::vector<RequestOutcome> outcomes;

 private:
  std::vector<std::unique_ptr<MemoryExchange>> all_;
  std::deque<MemoryExchange*> queue_;
};

// Runs the worker script on a fresh PHP thread, as a worker pool does.
WorkerRun RunOnThread(const WorkerOptions& options, RequestSource& source) {
  Rt();  // the runtime starts on the main thread
  WorkerRun run;
  std::thread t([&] {
    PhpThreadScope scope;
    run = RunWorkerScript(options, source);
  });
  t.join();
  return run;
}

Params Req(const std::string& uri, const std::string& query = "", const std::string& method = "GET") {
  Params p = Base("/srv/app/index.php", method, query);
  for (auto& [k, v] : p) {
    if (k == "REQUEST_URI") v = uri + (query.empty() ? "" : "?" + query);
  }
  return p;
}

// A worker whose handler runs `$_GET['do']` cases from a switch.
std::string CaseWorker(const std::string& boot, const std::string& cases) {
  return Rt().Script("cases_" + std::to_string(std::hash<std::string>{}(boot + cases)) + ".php",
                     "<?php\n" + boot + "\n$n = 0;\nwhile (tfpm_handle_request(function () use (&$n) {\n"
                     "  $n++;\n  switch ($_GET['do'] ?? '') {\n" + cases + "\n  }\n})) {}\n");
}

TEST_CASE("worker: boots once, serves each request with its own superglobals") {
  WorkerOptions o;
  o.script = CaseWorker("$boot = 'b' . mt_rand();",
                        "default: echo $n, '|', $_GET['v'] ?? '-', '|', $_SERVER['REQUEST_URI'], '|', "
                        "$_SERVER['FRANKENPHP_WORKER'] ?? 'no', '|', $_POST['p'] ?? '-', '|', "
                        "file_get_contents('php://input'), '|', $_COOKIE['c'] ?? '-';");
  ScriptedSource src;
  auto& a = src.Add(Req("/a", "v=1"));
  Params post = Req("/b", "", "POST");
  post.push_back({"CONTENT_TYPE", "application/x-www-form-urlencoded"});
  post.push_back({"CONTENT_LENGTH", "3"});
  post.push_back({"HTTP_COOKIE", "c=cookie"});
  auto& b = src.Add(post, "p=x");
  auto& c = src.Add(Req("/c"));
  WorkerRun run = RunOnThread(o, src);
  CHECK(run.end == WorkerRun::End::kStopped);
  CHECK(run.requests == 3);
  CHECK(a.Body() == "1|1|/a?v=1|1|-||-");
  CHECK(b.Body() == "2|-|/b|1|x|p=x|cookie");
  CHECK(c.Body() == "3|-|/c|1|-||-");
  CHECK(a.finished());
  CHECK(c.finished());
}

TEST_CASE("worker: frankenphp_handle_request is an alias") {
  WorkerOptions o;
  o.script = Rt().Script("franken.php",
                         "<?php $i = 0; while (frankenphp_handle_request(function () use (&$i) { echo ++$i; })) {}");
  ScriptedSource src;
  auto& a = src.Add(Req("/"));
  auto& b = src.Add(Req("/"));
  WorkerRun run = RunOnThread(o, src);
  CHECK(run.end == WorkerRun::End::kStopped);
  CHECK(a.Body() == "1");
  CHECK(b.Body() == "2");
}

TEST_CASE("worker reset: output buffers, headers, status code, header_remove") {
  WorkerOptions o;
  o.script = CaseWorker("",
                        "case 'a': ob_start(); echo 'A'; header('X-Leak: 1'); http_response_code(404); "
                        "header_remove(); header('X-Leak: 1'); break;\n"
                        "default: echo 'level=', ob_get_level(), ' code=', http_response_code(), ' list=', "
                        "implode(',', headers_list());");
  ScriptedSource src;
  auto& a = src.Add(Req("/", "do=a"));
  auto& b = src.Add(Req("/"));
  RunOnThread(o, src);
  CHECK(a.Body() == "A");
  CHECK(a.Head().find("Status: 404") != std::string::npos);
  CHECK(a.Head().find("X-Leak: 1") != std::string::npos);
  CHECK(b.Head().find("X-Leak") == std::string::npos);
  // header_remove() in A took PHP's own X-Powered-By away from A only.
  CHECK(a.Head().find("X-Powered-By") == std::string::npos);
  CHECK(b.Head().find("X-Powered-By: PHP/") != std::string::npos);
  CHECK(b.Head().find("Status:") == std::string::npos);
  // output_buffering=4096 (Runtime) gives every request one buffer level.
  CHECK(b.Body().find("level=1 code=200") == 0);
  CHECK(b.Body().find("X-Leak") == std::string::npos);
}

TEST_CASE("worker reset: ini_set and set_time_limit are undone, the boot's ini_set stays") {
  WorkerOptions o;
  o.script = CaseWorker("ini_set('serialize_precision', '5');",
                        "case 'a': ini_set('precision', '3'); ini_set('serialize_precision', '9'); "
                        "set_time_limit(100); break;\n"
                        "default: echo ini_get('precision'), '|', ini_get('serialize_precision'), '|', "
                        "ini_get('max_execution_time');");
  ScriptedSource src;
  auto& before = src.Add(Req("/"));
  src.Add(Req("/", "do=a"));
  auto& after = src.Add(Req("/"));
  RunOnThread(o, src);
  CHECK(before.Body() == "14|5|30");
  CHECK(after.Body() == "14|5|30");
}

TEST_CASE("worker reset: a session never reaches the next request") {
  WorkerOptions o;
  o.script = CaseWorker("",
                        "case 'login': session_start(); $_SESSION['user'] = $_GET['u']; echo session_id(); break;\n"
                        "case 'peek': echo isset($_SESSION) ? 'set:' . json_encode($_SESSION) : 'unset', '|', "
                        "session_status(); break;\n"
                        "case 'start': session_start(); echo json_encode($_SESSION), '|', session_id(); break;");
  ScriptedSource src;
  auto& login = src.Add(Req("/", "do=login&u=alice"));
  auto& peek = src.Add(Req("/", "do=peek"));
  auto& fresh = src.Add(Req("/", "do=start"));
  RunOnThread(o, src);
  const std::string alice_id = login.Body();
  REQUIRE(alice_id.size() >= 20);
  CHECK(peek.Body() == "unset|1");  // PHP_SESSION_NONE
  CHECK(fresh.Body().find("[]|") == 0);
  CHECK(fresh.Body().find(alice_id) == std::string::npos);
}

TEST_CASE("worker reset: the session's own cookie brings its data back, nobody else's") {
  WorkerOptions o;
  o.script = CaseWorker("",
                        "case 'login': session_start(); $_SESSION['user'] = $_GET['u']; echo session_id(); break;\n"
                        "default: session_start(); echo $_SESSION['user'] ?? 'anonymous';");
  ScriptedSource src;
  auto& login = src.Add(Req("/", "do=login&u=bob"));
  RunOnThread(o, src);
  const std::string id = login.Body();
  ScriptedSource src2;
  Params with_cookie = Req("/");
  with_cookie.push_back({"HTTP_COOKIE", "PHPSESSID=" + id});
  auto& mine = src2.Add(with_cookie);
  auto& other = src2.Add(Req("/"));
  RunOnThread(o, src2);
  CHECK(mine.Body() == "bob");
  CHECK(other.Body() == "anonymous");
}

TEST_CASE("worker reset: uploaded temp files are deleted, cwd and error_get_last restored") {
  WorkerOptions o;
  o.script = CaseWorker("$tmp = null; $cwd = getcwd();",
                        "case 'up': $GLOBALS['tmp'] = $_FILES['f']['tmp_name']; echo file_exists($GLOBALS['tmp']) ? "
                        "'there' : 'missing'; chdir('/'); @strpos(); trigger_error('oops', E_USER_WARNING); break;\n"
                        "default: echo file_exists($GLOBALS['tmp']) ? 'leaked' : 'gone', '|', "
                        "getcwd() === $GLOBALS['cwd'] ? 'cwd' : getcwd(), '|', json_encode(error_get_last()), "
                        "'|', count($_FILES);");
  ScriptedSource src;
  const std::string boundary = "XyZ";
  const std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n"
                           "Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n";
  Params up = Req("/", "do=up", "POST");
  up.push_back({"CONTENT_TYPE", "multipart/form-data; boundary=" + boundary});
  up.push_back({"CONTENT_LENGTH", std::to_string(body.size())});
  auto& a = src.Add(up, body);
  auto& b = src.Add(Req("/"));
  RunOnThread(o, src);
  CHECK(a.Body() == "there");
  CHECK(b.Body() == "gone|cwd|null|0");
}

TEST_CASE("worker reset: filter_input() sees the current request") {
  WorkerOptions o;
  o.script = CaseWorker("", "default: echo filter_input(INPUT_GET, 'v') ?? 'none';");
  ScriptedSource src;
  auto& a = src.Add(Req("/", "v=first"));
  auto& b = src.Add(Req("/", "v=second"));
  auto& c = src.Add(Req("/"));
  RunOnThread(o, src);
  CHECK(a.Body() == "first");
  CHECK(b.Body() == "second");
  CHECK(c.Body() == "none");
}

TEST_CASE("worker: an exception in the handler is a 500 for that client; the script carries on") {
  WorkerOptions o;
  o.script = CaseWorker("", "case 'throw': echo 'partial'; throw new RuntimeException('boom');\n"
                            "default: echo 'n=', $n;");
  ScriptedSource src;
  auto& bad = src.Add(Req("/", "do=throw"));
  auto& good = src.Add(Req("/"));
  WorkerRun run = RunOnThread(o, src);
  CHECK(run.end == WorkerRun::End::kStopped);
  CHECK(run.cause == base::RestartCause::kReload);
  CHECK(src.outcomes[0].http_status == 500);
  CHECK(bad.Head().find("Status: 500") != std::string::npos);
  CHECK(bad.err().find("Uncaught RuntimeException: boom") != std::string::npos);
  CHECK(good.Body() == "n=2");  // same run: statics survived
}

TEST_CASE("worker: a fatal error in the handler completes the response with 500 and ends the run") {
  WorkerOptions o;
  o.script = CaseWorker("", "case 'fatal': echo 'x'; eval('function dup_fn() {}'); eval('function dup_fn() {}');\ndefault: echo 'ok';");
  ScriptedSource src;
  auto& ok = src.Add(Req("/"));
  auto& fatal = src.Add(Req("/", "do=fatal"));
  auto& never = src.Add(Req("/"));
  WorkerRun run = RunOnThread(o, src);
  CHECK(run.end == WorkerRun::End::kFailed);
  CHECK(run.requests == 1);
  CHECK(ok.Body() == "ok");
  CHECK(fatal.finished());
  CHECK(src.outcomes[1].http_status == 500);
  CHECK(fatal.Head().find("Status: 500") != std::string::npos);
  CHECK_FALSE(never.finished());  // left for the next run
  // The log line names the error and the request; the cause is counted.
  CHECK(run.cause == base::RestartCause::kCrash);
  CHECK(run.reason.find("Cannot redeclare") != std::string::npos);
  CHECK(run.reason.find("GET /?do=fatal") != std::string::npos);
}

TEST_CASE("worker: exit() in the handler finishes the response and ends the run") {
  WorkerOptions o;
  o.script = CaseWorker("", "case 'exit': echo 'bye'; exit(0);\ndefault: echo 'ok';");
  ScriptedSource src;
  auto& bye = src.Add(Req("/", "do=exit"));
  WorkerRun run = RunOnThread(o, src);
  CHECK(run.end == WorkerRun::End::kFailed);
  CHECK(run.reason.find("exit()") != std::string::npos);
  CHECK(run.reason.find("GET /?do=exit") != std::string::npos);
  CHECK(run.cause == base::RestartCause::kExit);
  CHECK(bye.finished());
  CHECK(bye.Body() == "bye");
}

TEST_CASE("worker: a fatal error at boot fails the run without taking a request") {
  WorkerOptions o;
  o.script = Rt().Script("bootfatal.php", "<?php no_such_function_at_boot(); tfpm_handle_request(fn() => 1);");
  ScriptedSource src;
  auto& a = src.Add(Req("/"));
  WorkerRun run = RunOnThread(o, src);
  CHECK(run.end == WorkerRun::End::kFailed);
  CHECK(run.reason.find("no_such_function_at_boot") != std::string::npos);
  CHECK_FALSE(a.finished());
}

TEST_CASE("worker: max_requests and memory_recycle end the run between requests") {
  WorkerOptions o;
  o.script = CaseWorker("$keep = [];", "default: echo $n;");
  o.max_requests = 2;
  ScriptedSource src;
  auto& a = src.Add(Req("/"));
  auto& b = src.Add(Req("/"));
  auto& c = src.Add(Req("/"));
  WorkerRun run = RunOnThread(o, src);
  CHECK(run.end == WorkerRun::End::kRecycle);
  CHECK(run.cause == base::RestartCause::kMaxRequests);
  CHECK(run.requests == 2);
  CHECK(a.Body() == "1");
  CHECK(b.Body() == "2");
  CHECK_FALSE(c.finished());

  const char* zend_alloc = std::getenv("USE_ZEND_ALLOC");
  if (zend_alloc != nullptr && std::string(zend_alloc) == "0") {
    MESSAGE("USE_ZEND_ALLOC=0 (sanitizer build): no Zend heap to measure; memory_recycle not checked");
    return;
  }
  WorkerOptions leak;
  leak.script = Rt().Script("leak.php",
                            "<?php $keep = []; while (tfpm_handle_request(function () use (&$keep) {"
                            " $keep[] = str_repeat('x', 1 << 20); echo count($keep); })) {}");
  leak.memory_recycle = 8 << 20;
  ScriptedSource src2;
  for (int i = 0; i < 20; ++i) src2.Add(Req("/"));
  WorkerRun run2 = RunOnThread(leak, src2);
  CHECK(run2.end == WorkerRun::End::kRecycle);
  CHECK(run2.reason.find("memory_recycle") != std::string::npos);
  CHECK(run2.reason.find("after request GET /") != std::string::npos);
  CHECK(run2.cause == base::RestartCause::kMemory);
  CHECK(run2.requests >= 6);
  CHECK(run2.requests <= 9);
}

TEST_CASE("worker: max_execution_time applies per request, not to the time spent waiting") {
  WorkerOptions o;
  o.script = CaseWorker("ini_set('max_execution_time', '1');",
                        "case 'busy': while (true) { $x = microtime(true); }\n"
                        "default: usleep(600000); echo 'slept';");
  // Three 0.6 s requests in one run: 1.8 s in total, each under the limit.
  ScriptedSource src;
  auto& a = src.Add(Req("/"));
  auto& b = src.Add(Req("/"));
  auto& c = src.Add(Req("/"));
  auto& busy = src.Add(Req("/", "do=busy"));
  WorkerRun run = RunOnThread(o, src);
  CHECK(a.Body() == "slept");
  CHECK(b.Body() == "slept");
  CHECK(c.Body() == "slept");
  CHECK(busy.finished());
  CHECK(src.outcomes[3].http_status == 500);
  CHECK(busy.err().find("Maximum execution time of 1 second exceeded") != std::string::npos);
  CHECK(run.end == WorkerRun::End::kFailed);
}

TEST_CASE("tfpm_handle_request() outside worker mode throws") {
  auto script = Rt().Script("notworker.php",
                            "<?php try { tfpm_handle_request(fn() => 1); } catch (RuntimeException $e) "
                            "{ echo get_class($e), ': ', $e->getMessage(); }");
  MemoryExchange ex(Base(script));
  ExecuteRequest(ex);
  CHECK(ex.Body().find("RuntimeException: tfpm_handle_request() can only be called") == 0);
}

TEST_CASE("worker: 4 threads x 300 requests, each response carries only its own request's data") {
  WorkerOptions o;
  o.script = CaseWorker("",
                        "default: session_start(); $_SESSION['id'] = $_GET['id']; "
                        "echo $_GET['id'], '|', $_COOKIE['u'], '|', $_SESSION['id'], '|', $_SERVER['HTTP_X_ID'];");
  constexpr int kThreads = 4, kRequests = 300;
  std::vector<std::unique_ptr<ScriptedSource>> sources;
  std::vector<std::vector<MemoryExchange*>> exchanges(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    sources.push_back(std::make_unique<ScriptedSource>());
    for (int i = 0; i < kRequests; ++i) {
      const std::string id = std::to_string(t) + "-" + std::to_string(i);
      Params p = Req("/", "id=" + id);
      p.push_back({"HTTP_COOKIE", "u=user" + id});
      p.push_back({"HTTP_X_ID", id});
      exchanges[t].push_back(&sources.back()->Add(p));
    }
  }
  Rt();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PhpThreadScope scope;
      RunWorkerScript(o, *sources[t]);
    });
  }
  for (auto& th : threads) th.join();
  int wrong = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kRequests; ++i) {
      const std::string id = std::to_string(t) + "-" + std::to_string(i);
      if (exchanges[t][i]->Body() != id + "|user" + id + "|" + id + "|" + id) ++wrong;
    }
  }
  CHECK(wrong == 0);
}

// Serves one request whose writes throw (as the Server would see an
// exception from its handler), then the prepared ones.
class FailingFirstSource final : public RequestSource {
 public:
  explicit FailingFirstSource(Params failing) : failing_(std::move(failing), true, false) {}
  MemoryExchange& Add(Params params) {
    all_.push_back(std::make_unique<MemoryExchange>(params));
    return *all_.back();
  }
  bool Next(Serve& serve) override {
    if (!failed_tried_) {
      failed_tried_ = true;
      try {
        serve(failing_);
      } catch (const std::runtime_error& e) {
        failure = e.what();
      }
    }
    if (next_ == all_.size()) return false;
    serve(*all_[next_++]);
    return true;
  }
  std::string failure;
  testing::ThrowingExchange failing_;

 private:
  bool failed_tried_ = false;
  std::vector<std::unique_ptr<MemoryExchange>> all_;
  size_t next_ = 0;
};

TEST_CASE("worker: an exception of ours in a request fails that request, not the script's state") {
  // Before: the failure was swallowed (the cut response was finished as if
  // complete), and an exception from the access log skipped the request's
  // shutdown and left SG(server_context) pointing at a dead frame.
  WorkerOptions o;
  o.script = CaseWorker("", "default: echo 'n=', $n, ' v=', $_GET['v'] ?? '-';");
  FailingFirstSource src(Req("/fail", "v=x"));
  auto& ok = src.Add(Req("/ok", "v=2"));
  WorkerRun run = RunOnThread(o, src);
  CHECK(src.failure == "injected: stdout");
  CHECK_FALSE(src.failing_.finished());  // left for the server to close
  CHECK(ok.finished());
  CHECK(ok.Body() == "n=2 v=2");
  CHECK(run.requests >= 1);
}

TEST_CASE("worker reset: the request body php://input buffered is freed after each request") {
  // Found by leak_check on the Symfony app: each request that read
  // php://input left its temp stream (two resources, and the body in
  // memory) behind, because a worker never destroys the request's resource
  // list. Before: 2, 4, 6 ... resources.
  WorkerOptions o;
  o.script = CaseWorker("", "default: $in = file_get_contents('php://input'); "
                            "echo strlen($in), '|', count(get_resources());");
  ScriptedSource src;
  std::vector<MemoryExchange*> ex;
  for (int i = 0; i < 4; ++i) {
    Params post = Req("/", "", "POST");
    post.push_back({"CONTENT_TYPE", "application/octet-stream"});
    post.push_back({"CONTENT_LENGTH", "5"});
    ex.push_back(&src.Add(post, "hello"));
  }
  RunOnThread(o, src);
  const std::string first = ex[0]->Body();
  CHECK(first.rfind("5|", 0) == 0);
  for (auto* e : ex) CHECK(e->Body() == first);
}

TEST_CASE("worker: FrankenPHP's header and finish functions under their FrankenPHP names") {
  WorkerOptions o;
  o.script = CaseWorker("", "default: header('X-A: 1'); header('X-B:   two words'); header('X-A: 3');\n"
                            "  $out = json_encode([frankenphp_response_headers(), apache_response_headers() ==="
                            " frankenphp_response_headers(), frankenphp_request_headers()['X-Id'] ?? null,"
                            " frankenphp_request_headers() === getallheaders()]);\n"
                            "  echo $out; var_dump(frankenphp_finish_request()); echo 'after';");
  ScriptedSource src;
  Params p = Req("/");
  p.push_back({"HTTP_X_ID", "abc"});
  auto& a = src.Add(p);
  RunOnThread(o, src);
  CHECK(a.finished());
  INFO(a.Body());
  // X-Powered-By (expose_php) is in the list too; header() replaced the first X-A.
  CHECK(a.Body().find("\"X-B\":\"two words\",\"X-A\":\"3\"}") != std::string::npos);
  CHECK(a.Body().find(",true,\"abc\",true]") != std::string::npos);
  CHECK(a.Body().find("after") == std::string::npos);  // output after finishing goes nowhere
}

TEST_CASE("worker: headers_send(103) is a no-op over FastCGI, headers_send(201) sends the head now") {
  WorkerOptions o;
  o.script = CaseWorker("", "case 'hints': header('Link: </a.css>; rel=preload'); "
                            "echo headers_send(103), '|', http_response_code(), '|', (int)headers_sent(); break;\n"
                            "default: $r = headers_send(201); echo $r, '|', (int)headers_sent();");
  ScriptedSource src;
  auto& hints = src.Add(Req("/", "do=hints"));
  auto& created = src.Add(Req("/"));
  RunOnThread(o, src);
  CHECK(hints.Body() == "1|200|0");
  CHECK(hints.Head().find("Link: </a.css>; rel=preload") != std::string::npos);
  CHECK(hints.Head().find("Status:") == std::string::npos);  // 200
  CHECK(created.Body() == "0|1");
  CHECK(created.Head().find("Status: 201") != std::string::npos);
}

bool ZendHeap() {
  const char* zend_alloc = std::getenv("USE_ZEND_ALLOC");
  return zend_alloc == nullptr || std::string(zend_alloc) != "0";
}

TEST_CASE("worker: each request's memory peak is its own, not the peak since the boot") {
  // Before: the peak was never reset, so the small request after the big
  // one reported the big one's peak (%M, last request memory).
  if (!ZendHeap()) {
    MESSAGE("USE_ZEND_ALLOC=0 (sanitizer build): no Zend heap to measure");
    return;
  }
  WorkerOptions o;
  o.script = CaseWorker("", "case 'big': $x = str_repeat('x', 32 << 20); echo strlen($x); break;\n"
                            "default: echo 'small';");
  ScriptedSource src;
  src.Add(Req("/", "do=big"));
  auto& small = src.Add(Req("/"));
  RunOnThread(o, src);
  REQUIRE(src.outcomes.size() == 2);
  CHECK(small.Body() == "small");
  CHECK(src.outcomes[0].memory_peak > (32u << 20));
  CHECK(src.outcomes[1].memory_peak < (16u << 20));
}

// A worker script with one kind of leak per `do` case; `none` changes
// nothing that survives.
std::string LeakyWorker() {
  return Rt().Script("leaky.php", R"php(<?php
class LeakCache {
    public static $items = [];
    public static $user = null;
    public static $constant = 'same';
    #[TfpmAllowState] public static $allowed = 0;
    public static function method() { static $calls = 0; return ++$calls; }
}
#[TfpmAllowState]
class LeakAllowedClass { public static $anything = 0; }
class LeakFilter extends php_user_filter {}
function leak_counter() { static $n = 0; return ++$n; }
$counter = 0;
$boot_object = new stdClass;
$boot_object->user = null;
$handler = function () use ($boot_object) {
    switch ($_GET['do'] ?? '') {
        case 'none':
            $local = ['a' => 1];
            $o = new stdClass;
            echo LeakCache::$constant, count(LeakCache::$items);
            break;
        case 'prop': LeakCache::$items[] = $_GET['v'] ?? 1; break;
        case 'user': LeakCache::$user = $_GET['v']; break;
        case 'object': $boot_object->user = $_GET['v']; break;
        case 'static': leak_counter(); break;
        case 'method': LeakCache::method(); break;
        case 'global': $GLOBALS['counter']++; break;
        case 'newglobal': $GLOBALS['fresh_global'] = 1; break;
        case 'allowed': LeakCache::$allowed++; LeakAllowedClass::$anything++; break;
        case 'tz': date_default_timezone_set('Asia/Tokyo'); break;
        case 'errorhandler': set_error_handler(fn() => true); break;
        case 'exceptionhandler': set_exception_handler(fn() => null); break;
        case 'shutdown': register_shutdown_function(fn() => null); break;
        case 'autoload': spl_autoload_register(fn($c) => null); break;
        case 'wrapper': stream_wrapper_unregister('data'); break;
        case 'filter': stream_filter_register('leakfilter', 'LeakFilter'); break;
        case 'resource': LeakCache::$allowed = fopen('php://memory', 'r'); break;
        case 'file': if (file_get_contents(__FILE__) === '') echo 'empty'; break;
        case 'mb': mb_internal_encoding('ISO-8859-1'); break;
        case 'errorlevel': error_reporting(E_ERROR); break;
    }
    echo 'ok';
};
while (tfpm_handle_request($handler)) {}
)php");
}

// The leaks the run reported, as "name <- request".
bool Reported(const WorkerRun& run, const std::string& entry) {
  for (const std::string& l : run.leaks) {
    if (l == entry) return true;
  }
  return false;
}

std::string All(const WorkerRun& run) {
  std::string out;
  for (const std::string& l : run.leaks) out += l + "\n";
  return out;
}

TEST_CASE("leak_check: each kind of leak is detected and named with its request") {
  WorkerOptions o;
  o.script = LeakyWorker();
  o.leak_check = WorkerOptions::LeakCheck::kLog;
  o.leak_warmup = 0;
  std::atomic<uint64_t> counted{0};
  o.state_leaks = &counted;
  ScriptedSource src;
  const std::vector<std::string> cases = {"none", "prop", "user", "object", "static", "method", "global",
                                          "newglobal", "allowed", "tz", "errorhandler", "exceptionhandler",
                                          "shutdown", "autoload", "wrapper", "filter", "resource", "mb",
                                          "none"};
  for (const auto& c : cases) src.Add(Req("/", "do=" + c + "&v=alice"));
  WorkerRun run = RunOnThread(o, src);
  INFO(All(run));
  CHECK(run.requests == cases.size());
  auto by = [](const std::string& c) { return " <- GET /?do=" + c + "&v=alice"; };
  CHECK(Reported(run, "LeakCache::$items" + by("prop")));
  CHECK(Reported(run, "LeakCache::$user" + by("user")));
  CHECK(Reported(run, "$boot_object" + by("object")));
  CHECK(Reported(run, "leak_counter()::$n" + by("static")));
  CHECK(Reported(run, "LeakCache::method()::$calls" + by("method")));
  CHECK(Reported(run, "$counter" + by("global")));
  CHECK(Reported(run, "$fresh_global" + by("newglobal")));
  CHECK(Reported(run, "timezone" + by("tz")));
  CHECK(Reported(run, "error_handler" + by("errorhandler")));
  CHECK(Reported(run, "exception_handler" + by("exceptionhandler")));
  CHECK(Reported(run, "shutdown_functions" + by("shutdown")));
  CHECK(Reported(run, "autoloaders" + by("autoload")));
  CHECK(Reported(run, "stream_wrappers" + by("wrapper")));
  CHECK(Reported(run, "stream_filters" + by("filter")));
  bool resources = false;
  for (const std::string& l : run.leaks) {
    resources = resources || (l.rfind("resources (", 0) == 0 && l.ends_with(" open)" + by("resource")));
  }
  CHECK(resources);
  CHECK(Reported(run, "mb_internal_encoding" + by("mb")));
  // Each request above leaks exactly its one item; `none` and the
  // attribute-allowed properties report nothing.
  CHECK(run.leaks.size() == 16);
  for (const std::string& l : run.leaks) {
    CHECK(l.find("do=none") == std::string::npos);
    CHECK(l.find("do=allowed") == std::string::npos);
  }
  CHECK(counted.load() == 16);
}

TEST_CASE("leak_check: a script that keeps no state reports nothing; off collects nothing") {
  WorkerOptions o;
  o.script = LeakyWorker();
  o.leak_check = WorkerOptions::LeakCheck::kLog;
  o.leak_warmup = 0;
  ScriptedSource src;
  for (int i = 0; i < 10; ++i) src.Add(Req("/", "do=none&v=" + std::to_string(i)));
  WorkerRun run = RunOnThread(o, src);
  CHECK(run.requests == 10);
  CHECK_MESSAGE(run.leaks.empty(), All(run));

  WorkerOptions off;
  off.script = LeakyWorker();
  std::atomic<uint64_t> counted{0};
  off.state_leaks = &counted;
  ScriptedSource src2;
  src2.Add(Req("/", "do=prop"));
  src2.Add(Req("/", "do=user&v=bob"));
  WorkerRun run2 = RunOnThread(off, src2);
  CHECK(run2.requests == 2);
  CHECK(run2.leaks.empty());
  CHECK(counted.load() == 0);
}

// Found by leak_check on the Symfony Runtime app: the first file function
// a run calls without a context (there file_get_contents('php://input'))
// makes PHP create its default stream context, a resource that lives as
// long as the interpreter. It was reported as "resources (0 -> 1 open)"
// once per run; it is no request's state and never grows.
TEST_CASE("leak_check: PHP's default stream context is not a leaked resource") {
  WorkerOptions o;
  o.script = LeakyWorker();
  o.leak_check = WorkerOptions::LeakCheck::kLog;
  o.leak_warmup = 0;
  ScriptedSource src;
  for (const char* c : {"none", "file", "file", "none", "resource", "none"}) {
    src.Add(Req("/", std::string("do=") + c));
  }
  WorkerRun run = RunOnThread(o, src);
  INFO(All(run));
  CHECK(run.requests == 6);
  // Only the request that kept a stream open.
  REQUIRE(run.leaks.size() == 1);
  CHECK(run.leaks[0] == "resources (1 -> 2 open) <- GET /?do=resource");
}

TEST_CASE("leak_check: warm-up and the allowlist") {
  WorkerOptions o;
  o.script = LeakyWorker();
  o.leak_check = WorkerOptions::LeakCheck::kLog;
  o.leak_warmup = 2;
  o.leak_allow = {"LeakCache::$user", "leak_counter()*", "$coun*"};
  ScriptedSource src;
  src.Add(Req("/", "do=prop&v=1"));  // warm-up
  src.Add(Req("/", "do=prop&v=2"));  // warm-up
  src.Add(Req("/", "do=user&v=3"));  // allowed by name
  src.Add(Req("/", "do=static"));    // allowed by prefix
  src.Add(Req("/", "do=global"));    // allowed by prefix
  src.Add(Req("/", "do=prop&v=6"));  // reported
  WorkerRun run = RunOnThread(o, src);
  INFO(All(run));
  REQUIRE(run.leaks.size() == 1);
  CHECK(run.leaks[0] == "LeakCache::$items <- GET /?do=prop&v=6");
}

TEST_CASE("leak_check on 4 threads: each thread reports only the leaks of its own requests") {
  // Per-thread state only: thread t leaks on request t*10+5 only (a static
  // property) and on no other; every thread must report exactly that one.
  WorkerOptions o;
  o.script = LeakyWorker();
  o.leak_check = WorkerOptions::LeakCheck::kLog;
  o.leak_warmup = 0;
  std::atomic<uint64_t> counted{0};
  o.state_leaks = &counted;
  constexpr int kThreads = 4, kRequests = 60;
  std::vector<std::unique_ptr<ScriptedSource>> sources;
  for (int t = 0; t < kThreads; ++t) {
    sources.push_back(std::make_unique<ScriptedSource>());
    for (int i = 0; i < kRequests; ++i) {
      const bool leak = i == t * 10 + 5;
      sources.back()->Add(Req("/", std::string(leak ? "do=user" : "do=none") + "&v=t" + std::to_string(t)));
    }
  }
  Rt();
  std::vector<WorkerRun> runs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PhpThreadScope scope;
      runs[t] = RunWorkerScript(o, *sources[t]);
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t << ": " << All(runs[t]));
    REQUIRE(runs[t].leaks.size() == 1);
    CHECK(runs[t].leaks[0] == "LeakCache::$user <- GET /?do=user&v=t" + std::to_string(t));
  }
  CHECK(counted.load() == kThreads);
}

TEST_CASE("leak_check strict: the request after a leak fails with 500, the one after that is served") {
  WorkerOptions o;
  o.script = LeakyWorker();
  o.leak_check = WorkerOptions::LeakCheck::kStrict;
  o.leak_warmup = 0;
  ScriptedSource src;
  auto& a = src.Add(Req("/", "do=user&v=alice"));
  auto& b = src.Add(Req("/", "do=none"));
  auto& c = src.Add(Req("/", "do=none"));
  WorkerRun run = RunOnThread(o, src);
  CHECK(run.end == WorkerRun::End::kStopped);
  CHECK(a.Body() == "ok");
  CHECK(src.outcomes[1].http_status == 500);
  CHECK(b.Head().find("Status: 500") != std::string::npos);
  CHECK(b.Body().find("LeakCache::$user") != std::string::npos);
  CHECK(src.outcomes[2].http_status == 200);
  CHECK(c.Body() == "same0ok");
}

TEST_CASE("leak_check log: the app's output and responses are those of leak_check off") {
  auto serve = [](WorkerOptions::LeakCheck mode) {
    WorkerOptions o;
    o.script = LeakyWorker();
    o.leak_check = mode;
    o.leak_warmup = 0;
    ScriptedSource src;
    std::vector<MemoryExchange*> ex;
    for (const char* c : {"prop", "none", "user", "none", "global", "autoload", "none"}) {
      ex.push_back(&src.Add(Req("/", std::string("do=") + c + "&v=x")));
    }
    RunOnThread(o, src);
    std::string all;
    for (auto* e : ex) all += e->Head() + e->Body() + "\n";
    return all;
  };
  const std::string off = serve(WorkerOptions::LeakCheck::kOff);
  CHECK(off.find("ok") != std::string::npos);
  CHECK(serve(WorkerOptions::LeakCheck::kLog) == off);
}

}  // namespace
}  // namespace tfpm::sapi
