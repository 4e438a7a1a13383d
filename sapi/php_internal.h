// Shared between the sapi/*.cc files only. Includes PHP headers.
#pragma once

extern "C" {
#include <main/php.h>
#include <main/SAPI.h>
#include <main/php_main.h>
#include <main/php_variables.h>
#include <main/php_ini.h>
#include <Zend/zend_ini.h>
#include <Zend/zend_exceptions.h>
#include <ext/standard/head.h>
}

#include "fastcgi/exchange.h"
#include "sapi/php_embed.h"

ZEND_TSRMLS_CACHE_EXTERN()

namespace tfpm::sapi {

// Per-request state; lives on the serving thread's stack for the request and
// is reached from every SAPI callback through SG(server_context).
struct RequestContext {
  fastcgi::Exchange* exchange = nullptr;
  bool input_timed_out = false;  // max_input_time passed while reading the body
};

// max_input_time: the exchange stops waiting for body bytes this long after
// now (php.ini / pool value; -1 or 0 = no limit).
void ArmInputDeadline(fastcgi::Exchange& ex);
// The 408 answer when the body did not arrive within max_input_time.
// Returns true if it handled the request that way.
bool AnswerInputTimeout(RequestContext* ctx);

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

// Fills SG(request_info) from the FastCGI params (php_request.cc).
void FillRequestInfo(fastcgi::Exchange& ex);

// tfpm_handle_request() (php_worker.cc), registered in php_functions.cc.
ZEND_FUNCTION(tfpm_handle_request);
// True on a thread that is running a worker script.
bool InWorkerThread();

// The zend_module_entry holding fastcgi_finish_request() & co.
extern zend_module_entry tfpm_module_entry;

}  // namespace tfpm::sapi
