// The PHP embedding, as a PHP-free C++ API. This header includes no PHP
// header; everything PHP lives in sapi/*.cc.
//
// Lifecycle, in one worker process:
//   PhpRuntime::Startup()      once, while the process has a single thread
//                              (MINIT: extensions, OPcache shared memory)
//   PhpThreadScope             once per PHP thread (its own TSRM context)
//     ExecuteRequest(...)      per request, on that thread
//   PhpRuntime::Shutdown()     once, after every PHP thread has exited
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "fastcgi/exchange.h"

namespace tfpm::sapi {

struct RuntimeOptions {
  std::string sapi_name = "fpm-fcgi";   // php_sapi_name()
  std::string ini_file;                 // "" = no php.ini at all
  // Applied after php.ini, in order: daemon php.ini defaults, pool
  // php_value, pool php_admin_value.
  std::vector<std::pair<std::string, std::string>> ini;
  // Keys from php_admin_value: ini_set() cannot change them.
  std::vector<std::string> admin_keys;
  std::vector<std::string> limit_extensions = {".php"};  // empty = any
  bool load_opcache = true;             // zend_extension=opcache.so from our build
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
  // ... and under [Zend Modules] (OPcache).
  static std::vector<std::string> ZendExtensions();
};

// Gives the calling thread its own PHP interpreter context (ts_resource(0))
// for the scope's lifetime (ts_free_thread() in the destructor). Not movable;
// create it at the top of the thread function.
class PhpThreadScope {
 public:
  PhpThreadScope();
  ~PhpThreadScope();
  PhpThreadScope(const PhpThreadScope&) = delete;
  PhpThreadScope& operator=(const PhpThreadScope&) = delete;
};

struct RequestOutcome {
  int http_status = 0;         // status PHP sent
  uint64_t memory_peak = 0;    // bytes, zend_memory_peak_usage
  bool bailout = false;        // a fatal error unwound the request
  bool aborted = false;        // the client went away
};

// Serves one classic request: runs SCRIPT_FILENAME with $_SERVER built from
// the FastCGI params, streams the body from and the response to `exchange`,
// and finishes it. Call on a thread inside a PhpThreadScope. Never throws;
// a PHP fatal error ends only this request.
RequestOutcome ExecuteRequest(fastcgi::Exchange& exchange);

}  // namespace tfpm::sapi
