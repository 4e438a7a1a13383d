// The PHP embedding, as a PHP-free C++ API. This header includes no PHP
// header; everything PHP lives in sapi/*.cc.
//
// Lifecycle, in one worker process:
//   PhpRuntime::Startup()      once, while the process has a single thread
//                              (MINIT: extensions, OPcache shared memory)
//   PhpThreadScope             once per PHP thread (its own TSRM context)
//     ExecuteRequest(...)      per request, on that thread
//     or RunWorkerScript(...)  worker mode: one run of the app script,
//                              which serves many requests (docs/worker-mode.md)
//   PhpRuntime::Shutdown()     once, after every PHP thread has exited
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "accesslog/format.h"
#include "base/restart_cause.h"
#include "base/status.h"
#include "fastcgi/exchange.h"

namespace tfpm::sapi {

// Where access log lines go: one Write() per line (with its '\n'), called
// concurrently from the PHP threads that served the requests.
class AccessLogSink {
 public:
  virtual void Write(std::string_view line) = 0;

 protected:
  ~AccessLogSink() = default;
};

// A pool's access log (php-fpm's access.log, access.format,
// access.suppress_path): each request, classic or worker mode, writes one
// line at its end, rendered on the thread that served it.
struct AccessLog {
  accesslog::Format format;
  std::vector<std::string> suppress_paths;
  std::string pool;        // %n
  long pid = 0, ppid = 0;  // %p, %P (a worker process keeps both)
  AccessLogSink* sink = nullptr;  // outlives the runtime
};

struct RuntimeOptions {
  std::string sapi_name = "fpm-fcgi";   // php_sapi_name()
  // php.ini: `ini_text` when not empty (tfpm's built-in php.ini), else the
  // file `ini_file`, else none (PHP's built-in defaults).
  std::string ini_file;
  std::string ini_text;
  // PHP's scan directories (PHP_INI_SCAN_DIR syntax, ':'-separated): their
  // *.ini files are read after php.ini, in name order. "" = none.
  std::string scan_dir;
  // Applied after php.ini, in order: daemon php.ini defaults, pool
  // php_value, pool php_admin_value.
  std::vector<std::pair<std::string, std::string>> ini;
  // Keys from php_admin_value: ini_set() cannot change them.
  std::vector<std::string> admin_keys;
  std::vector<std::string> limit_extensions = {".php"};  // empty = any
  // php-fpm's ping.path / ping.response: a request whose SCRIPT_NAME is
  // ping_path is answered with ping_response, no script runs. "" = off.
  std::string ping_path;
  std::string ping_response = "pong";
  // php-fpm's pm.status_path: a request whose SCRIPT_NAME is status_path
  // gets the pool's status page (sapi/php_status.cc); "" = off.
  // `pool_status(full)` returns the pool's status as JSON
  // (ipc/pool_status.h as JSON), "" when it cannot be had; it also feeds
  // fpm_get_status(). Called on PHP threads; must be thread-safe.
  std::string status_path;
  std::function<std::string(bool full)> pool_status;
  bool load_opcache = true;             // zend_extension=opcache.so from our build
  // Another process of this pool has already reported PHP's startup
  // deprecations (a php.ini setting PHP 8.4 deprecates): this one does
  // not repeat them. New PHP threads never repeat startup messages.
  bool quiet_startup_deprecations = false;
  // php.ini and scan_dir were written for another PHP: extension lines are
  // looked up by name (config::PhpConfig::extensions_by_name).
  bool extensions_by_name = false;
  // extensions_by_name: tfpm reads the ini files itself, within these
  // limits (config php.ini_max_file_size, php.ini_max_files).
  uint64_t ini_max_file_size = 4u << 20;
  size_t ini_max_files = 1000;
  // nullptr = no access log: requests then do nothing extra for it.
  std::shared_ptr<const AccessLog> access_log;
  // The pool's user_ini_cache_entries: the (directory, DOCUMENT_ROOT)
  // pairs whose .user.ini result each PHP thread keeps (php_user_ini.cc).
  // A new pair beyond it empties the thread's cache first and calls
  // `user_ini_cache_full(what)` (may be empty) on that PHP thread, so it
  // must be thread-safe.
  size_t user_ini_cache_entries = 1024;
  std::function<void(std::string_view what)> user_ini_cache_full;
};

class PhpRuntime {
 public:
  // Starts TSRM, the SAPI and every module (MINIT). Must be called once per
  // process, before any PHP thread exists. Errors name what failed.
  static Status Startup(const RuntimeOptions& options);
  // MSHUTDOWN. Call after every PhpThreadScope has been destroyed.
  static void Shutdown();
  // The modules `php -m` lists under [PHP Modules], sorted as it sorts them.
  static std::vector<std::string> LoadedModules();
  // extensions_by_name: one line per extension= / zend_extension= line that
  // names an extension this PHP does not have (skipped), after Startup.
  static std::vector<std::string> SkippedExtensions();
  // extensions_by_name: one line per ini file not read (too large,
  // unreadable, over the file limit) and per setting PHP 8.3/8.4 deprecate
  // or removed (php_ini_deprecations.h), "php.ini FILE:LINE: ...", after
  // Startup. Reported once per pool start, like SkippedExtensions().
  static std::vector<std::string> IniFileNotices();
  // ... and under [Zend Modules] (OPcache).
  static std::vector<std::string> ZendExtensions();
  // The ini files PHP read at Startup (`php --ini`): `loaded` is "" without
  // a php.ini, "(tfpm built-in php.ini)" for the compiled-in one.
  struct IniFiles {
    std::string loaded;
    std::string scan_dir;
    std::vector<std::string> scanned;
  };
  static IniFiles LoadedIniFiles();
  // phpinfo() as text on stdout (`php -i`), outside any FastCGI request.
  // Main thread, after Startup.
  static void PrintInfo();
};

// Gives the calling thread its own PHP interpreter context (ts_resource(0))
// for the scope's lifetime (ts_free_thread() in the destructor). Not movable;
// create it at the top of the thread function. It first gives the thread a
// working directory of its own (os::OwnWorkingDirectory: libphp is built
// without PHP's virtual cwd, so PHP's chdir() is real); it stays the
// thread's after the scope ends. Throws std::runtime_error if it cannot.
class PhpThreadScope {
 public:
  // `index` >= 0 registers the thread for RunningRequests() & co under that
  // number (the Dispatcher's thread index).
  explicit PhpThreadScope(int index = -1);
  ~PhpThreadScope();
  PhpThreadScope(const PhpThreadScope&) = delete;
  PhpThreadScope& operator=(const PhpThreadScope&) = delete;
};

struct RequestOutcome {
  int http_status = 0;         // status PHP sent
  uint64_t memory_peak = 0;    // bytes, zend_memory_peak_usage(true): the heap's mapped chunks
  uint64_t heap_peak = 0;      // bytes, zend_memory_peak_usage(false): allocated in the heap
  bool bailout = false;        // a bailout escaped PHP's own handling (startup, our code)
  bool fatal_error = false;    // the script ended on a fatal error (E_ERROR, E_PARSE,
                               // uncaught exception, timeout): the engine unwound it
                               // mid-way, so the thread's interpreter is recycled
  bool aborted = false;        // the client went away
  std::string auth_user;       // PHP_AUTH_USER, for the status page
};

// Serves one classic request: runs SCRIPT_FILENAME with $_SERVER built from
// the FastCGI params, streams the body from and the response to `exchange`,
// and finishes it. Call on a thread inside a PhpThreadScope. Never throws;
// a PHP fatal error ends only this request.
RequestOutcome ExecuteRequest(fastcgi::Exchange& exchange);

// ---- idle memory trimming (the pool's idle_trim) ----------------------
//
// Called by a PHP thread on itself while it waits for a request; never
// for another thread's heap (sapi/php_heap_trim.cc says what each frees
// and why it is safe). The page faults are paid by the next request.

// The Zend heap's mapped bytes (memory_get_usage(true)) before and after a
// trim; both 0 when PHP allocates with malloc (USE_ZEND_ALLOC=0).
struct HeapTrim {
  uint64_t before = 0, after = 0;
  bool discarded_main_chunk = false;  // the heap was empty: its first chunk's free pages went too
};

// A classic thread between requests (inside its PhpThreadScope, after its
// last request's php_request_shutdown): if the heap is empty, unmaps its
// cached chunks and discards the free pages of its first chunk; otherwise
// as CollectHeapGarbage().
HeapTrim TrimIdleHeap();

// Any PHP thread inside its PhpThreadScope, a worker-mode thread waiting
// in tfpm_handle_request() included (the app's objects stay in the heap):
// zend_mm_gc() only, which frees pages and chunks no live block uses.
HeapTrim CollectHeapGarbage();

// ---- timeouts: other threads looking at a PHP thread ------------------

struct RunningRequest {
  int index = -1;          // the thread's PhpThreadScope index
  uint64_t seq = 0;        // which of its requests
  int64_t started_us = 0;  // steady clock, microseconds
  bool finished = false;   // fastcgi_finish_request() was called
};
// The requests running now on registered threads. Any thread.
std::vector<RunningRequest> RunningRequests();
// Ends request `seq` on thread `index` if it is still running: the thread
// answers 504 (if the head was not sent yet) and unwinds the request at its
// next opcode; blocking calls on it are interrupted. Call again to re-kick a
// thread that has not come back. false: that request is no longer running.
// The request cannot end while this runs (the thread waits to mark it
// ended), so the sockets shut down and the signal sent are always request
// `seq`'s, never those of a connection the thread has taken after it.
bool TerminateRequest(int index, uint64_t seq);
// Test seam: TerminateRequest calls `seam` (on its caller's thread) once it
// has found request `seq` running, before it acts on it; empty = none. Set
// it only while no TerminateRequest runs.
void SetTerminateRequestSeamForTest(std::function<void()> seam);
// The PHP backtrace of request `seq` on thread `index` (one frame per
// line, php-fpm's slowlog format), read from outside the thread without
// ptrace; "" if that request is no longer running.
std::string CaptureBacktrace(int index, uint64_t seq, int depth);

// ---- worker mode ------------------------------------------------------

struct WorkerOptions {
  std::string script;           // absolute path of the app's worker script
  uint64_t max_requests = 0;    // per run; then tfpm_handle_request() returns false
  uint64_t memory_recycle = 0;  // bytes of Zend heap in use after a request; 0 = off
  // State-leak detector (sapi/php_leak_check.h, docs/worker-mode.md).
  // kOff runs none of its code.
  enum class LeakCheck { kOff, kLog, kStrict } leak_check = LeakCheck::kOff;
  uint64_t leak_warmup = 5;             // requests of each run whose changes are not reported
  std::vector<std::string> leak_allow;  // item names; a trailing '*' matches a prefix
  // Counts each reported item (the scoreboard header's state_leaks); may
  // be null. Must outlive the run.
  std::atomic<uint64_t>* state_leaks = nullptr;
};

// Where a worker thread's requests come from (the Dispatcher, or a test fake).
class RequestSource {
 public:
  // Runs one request on the calling thread; never longjmps.
  class Serve {
   public:
    virtual RequestOutcome operator()(fastcgi::Exchange& exchange) = 0;

   protected:
    ~Serve() = default;
  };
  virtual ~RequestSource() = default;
  // Blocks until a request is complete and calls serve(exchange) once for
  // it. Returns false, without calling serve, when the thread must stop.
  virtual bool Next(Serve& serve) = 0;
};

struct WorkerRun {
  enum class End {
    kStopped,  // the source said stop and the script returned
    kRecycle,  // max_requests / memory_recycle, or the script returned on its own
    kFailed,   // fatal error, exit(), uncaught exception, or no request served
  };
  End end = End::kFailed;
  uint64_t requests = 0;  // requests completed by this run
  std::string reason;     // what ended it, for the log (names the request, if one)
  // Why the script will be started again (kReload when the source said
  // stop: the caller knows whether that was a watched file instead).
  base::RestartCause cause = base::RestartCause::kCrash;
  // leak_check: the first 256 items reported in this run, "name <- request".
  std::vector<std::string> leaks;
};

// Runs the worker script once on the calling thread (inside a
// PhpThreadScope): boot, then tfpm_handle_request() loops over `source`.
// A fatal error in the handler still finishes that client's response (500)
// before the run ends. Never throws, never longjmps out.
WorkerRun RunWorkerScript(const WorkerOptions& options, RequestSource& source);

}  // namespace tfpm::sapi
