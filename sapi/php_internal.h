// Shared between the sapi/*.cc files only. Includes PHP headers.
#pragma once

extern "C" {
#include <main/php.h>
#include <main/SAPI.h>
#include <main/php_main.h>
#include <main/php_variables.h>
#include <main/php_ini.h>
#include <Zend/zend_ini.h>
#include <Zend/zend_ini_scanner.h>
#include <Zend/zend_exceptions.h>
#include <ext/standard/head.h>
}

#include <exception>
#include <string_view>

#include "fastcgi/exchange.h"
#include "sapi/cgi_env.h"
#include "sapi/php_embed.h"

ZEND_TSRMLS_CACHE_EXTERN()

namespace tfpm::sapi {

// Per-request state; lives on the serving thread's stack for the request and
// is reached from every SAPI callback through SG(server_context).
struct RequestContext {
  fastcgi::Exchange* exchange = nullptr;
  bool input_timed_out = false;  // max_input_time passed while reading the body
  bool stderr_started = false;  // a message went to FCGI_STDERR already
  // The first exception our C++ code threw while PHP's request ran (kept by
  // Contain()); ExecuteRequest rethrows it once PHP's request is shut down.
  std::exception_ptr failure;
};

// Runs `f`, a piece of our C++ code called while a PHP request is started
// (from ExecuteRequest or from a SAPI callback). An exception must not
// unwind through PHP's frames nor skip php_request_shutdown(): it is kept
// in `ctx->failure` (the request then fails: its connection is closed) and
// false is returned. A zend_bailout() may cross it (it holds no object
// with a destructor); `f` must not hold one across engine calls either.
template <typename F>
bool Contain(RequestContext* ctx, F&& f) noexcept {
  try {
    f();
    return true;
  } catch (...) {
    if (ctx != nullptr && !ctx->failure) ctx->failure = std::current_exception();
    return false;
  }
}

// max_input_time: the exchange stops waiting for body bytes this long after
// now (php.ini / pool value; -1 or 0 = no limit).
void ArmInputDeadline(fastcgi::Exchange& ex);
// The 408 answer when the body did not arrive within max_input_time.
// Returns true if it handled the request that way.
bool AnswerInputTimeout(RequestContext* ctx);

// The calling thread's CGI environment of its current request: the params
// as FillRequestInfo() edited them (php-fpm's FCGI_PUTENV). $_SERVER,
// getenv() and the cookie callback read it.
CgiEnv& RequestEnv();

// php-fpm's init_request_info: fills SG(request_info) and RequestEnv()
// from the request's params (the script path rules of cgi_env.h). Call
// with SG(server_context) set, before php_request_startup().
void FillRequestInfo(fastcgi::Exchange& ex);

// The rest of init_request_info: applies the request's PHP_VALUE and
// PHP_ADMIN_VALUE params (from RequestEnv()) as changes that
// php_request_shutdown() undoes. Call after FillRequestInfo(), before
// php_request_startup().
void ApplyFastCgiIni();

// SAPI activate, inside php_request_startup(): php.ini's [HOST=] and
// [PATH=] sections and the .user.ini files for SG(request_info)'s script
// (php-fpm's sapi_cgi_activate). sapi/php_user_ini.cc.
void ActivatePerDirectoryIni();

// A message for the web server's error log (FCGI_STDERR), as php-fpm sends
// them: several in one request are joined with "; "; off when the INI
// entry fastcgi.logging is 0.
void LogToWebServer(RequestContext* ctx, std::string_view message);
// The same for `prefix` + `message`, sent without joining them in memory.
void LogToWebServer(RequestContext* ctx, std::string_view prefix, std::string_view message);

// php_status.cc: php-fpm's status page. True if this request was for
// Options().status_path and has been answered.
bool AnswerStatusPage();
// php_request.cc: ping_path, then the status page; true if answered. Runs
// inside a started request (classic or worker mode).
bool AnswerPingOrStatus();
// fpm_get_status(): the pool's status as php-fpm's array; false if it
// cannot be had.
bool ExportStatus(zval* out);

inline RequestContext* CurrentRequest() {
  return static_cast<RequestContext*>(SG(server_context));
}

// The pool's options, fixed at Startup (read-only afterwards, so threads
// read them without a lock).
const RuntimeOptions& Options();

// Timeouts (php_timeouts.cc): the interrupt hook, once at Startup; the
// calling thread's registration; request tracking on the owner thread.
void InstallTimeoutHooks();
void RegisterThread(int index);
void UnregisterThread();
void BeginTrackedRequest(int connection_fd);
void EndTrackedRequest();
void MarkTrackedRequestFinished();

// Access log (php_access_log.cc). BeginAccessLog() at request start marks
// the time (and CPU time if the format shows it); WriteAccessLog() at
// request end, before php_request_shutdown(), writes the line. Both do
// nothing when the pool has no access log.
struct AccessLogMark {
  bool active = false;
  int64_t started_us = 0;  // monotonic
  time_t accepted = 0;     // wall clock, %t
  uint64_t cpu_user_us = 0, cpu_system_us = 0;
};
void BeginAccessLog(AccessLogMark* mark);
void WriteAccessLog(const AccessLogMark& mark, fastcgi::Exchange& exchange);

// tfpm_handle_request() (php_worker.cc), registered in php_functions.cc.
ZEND_FUNCTION(tfpm_handle_request);
// True on a thread that is running a worker script.
bool InWorkerThread();

// The zend_module_entry holding fastcgi_finish_request() & co.
extern zend_module_entry tfpm_module_entry;

}  // namespace tfpm::sapi
