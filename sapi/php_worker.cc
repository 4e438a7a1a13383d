// Worker mode: the app script boots once per run and serves requests
// through tfpm_handle_request(callable) (alias frankenphp_handle_request).
//
// The script itself runs inside one long PHP request (the "boot request",
// whose SAPI context is a BootExchange that sends output to the log). Each
// served request is a partial request cycle nested inside it: the SAPI and
// output layers, the superglobals, the session and a few modules are
// activated and deactivated around the handler call, while the executor
// (classes, functions, statics, objects) lives on. What is reset and what
// persists is listed in docs/worker-mode.md; each reset has a test.
//
// Bailouts: a fatal error inside the handler is caught here, the client's
// response is completed, the Dispatcher's frames are left normally, and only
// then is the bailout re-raised from tfpm_handle_request() to end the run.
// No longjmp ever crosses the Dispatcher's C++ frames.
#include <unistd.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/log.h"
#include "sapi/php_execution_timer.h"
#include "sapi/php_internal.h"
#include "sapi/php_leak_check.h"
#include "sapi/php_worker_state.h"

extern "C" {
#include <Zend/zend_virtual_cwd.h>
#include <ext/session/php_session.h>
#include <ext/spl/spl_exceptions.h>
#include <main/php_output.h>
}

namespace tfpm::sapi {
namespace {

using namespace worker_internal;  // NOLINT: this file's own state and resets

// The boot request's exchange: no client; output and errors go to the log.
class BootExchange final : public fastcgi::Exchange {
 public:
  explicit BootExchange(const std::string& script) {
    Add("SCRIPT_FILENAME", script);
    const size_t slash = script.rfind('/');
    Add("SCRIPT_NAME", slash == std::string::npos ? script : script.substr(slash));
    Add("DOCUMENT_ROOT", slash == std::string::npos ? std::string(".") : script.substr(0, slash));
    for (size_t i = 0; i < count_; ++i) {
      params_[i] = {std::string_view(names_[i]), std::string_view(values_[i])};
    }
  }
  uint16_t role() const override { return 1; }
  std::span<const Param> params() const override { return {params_, count_}; }
  ssize_t ReadStdin(std::span<char>) override { return 0; }
  bool WriteStdout(std::string_view data) override {
    LogLines("worker script output", data);
    return true;
  }
  bool WriteStderr(std::string_view data) override {
    LogLines("worker script", data);
    return true;
  }
  bool Flush() override { return true; }
  void Finish(uint32_t) override {}
  bool finished() const override { return false; }
  bool aborted() const override { return false; }

 private:
  void Add(const char* name, std::string value) {
    names_[count_] = name;
    values_[count_] = std::move(value);
    ++count_;
  }
  static void LogLines(const char* what, std::string_view data) {
    while (!data.empty()) {
      size_t nl = data.find('\n');
      std::string_view line = data.substr(0, nl);
      if (!line.empty()) log::Notice("{}: {}", what, line);
      if (nl == std::string_view::npos) break;
      data.remove_prefix(nl + 1);
    }
  }
  std::string names_[3], values_[3];
  Param params_[3];
  size_t count_ = 0;
};

thread_local WorkerState* t_worker = nullptr;

constexpr int kFatalErrors = E_ERROR | E_CORE_ERROR | E_COMPILE_ERROR | E_USER_ERROR | E_PARSE | E_RECOVERABLE_ERROR;

// "GET /path?query" (REQUEST_METHOD, REQUEST_URI) of a request, for log
// lines: cut at 256 bytes, control bytes replaced (the URI is the client's).
std::string RequestLabel(const fastcgi::Exchange& ex) {
  std::string_view method = "-", uri = "-";
  for (const auto& p : ex.params()) {
    if (p.first == "REQUEST_METHOD") method = p.second;
    if (p.first == "REQUEST_URI") uri = p.second;
  }
  std::string out(method.substr(0, 16));
  out += ' ';
  out += uri.substr(0, 256);
  if (out.size() > 256) out.resize(256);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

// The first line of the last error PHP reported, with its place.
std::string LastError() {
  if (!PG(last_error_message)) return {};
  std::string msg(ZSTR_VAL(PG(last_error_message)), ZSTR_LEN(PG(last_error_message)));
  msg = msg.substr(0, msg.find('\n'));
  if (PG(last_error_file)) {
    msg += " in " + std::string(ZSTR_VAL(PG(last_error_file))) + ":" + std::to_string(PG(last_error_lineno));
  }
  return msg;
}

bool TimedOut() {
  constexpr std::string_view kTimeout = "Maximum execution time";
  return PG(last_error_message) && ZSTR_LEN(PG(last_error_message)) >= kTimeout.size() &&
         std::memcmp(ZSTR_VAL(PG(last_error_message)), kTimeout.data(), kTimeout.size()) == 0;
}

// The request half of php_request_startup(): output layer, SAPI (headers,
// POST body, cookies), superglobals. Returns false on a bailout.
bool WorkerRequestStartup() {
  volatile bool ok = true;
  zend_try {
    php_output_activate();
    PG(header_is_being_sent) = 0;
    PG(connection_status) = PHP_CONNECTION_NORMAL;
    // A client that goes away must not bail out of the worker's loop.
    PG(ignore_user_abort) = 1;
    sapi_activate();
    if (PG(expose_php)) sapi_add_header(SAPI_PHP_VERSION_HEADER, sizeof(SAPI_PHP_VERSION_HEADER) - 1, 1);
    if (PG(output_handler) && PG(output_handler)[0]) {
      zval oh;
      ZVAL_STRING(&oh, PG(output_handler));
      php_output_start_user(&oh, 0, PHP_OUTPUT_HANDLER_STDFLAGS);
      zval_ptr_dtor(&oh);
    } else if (PG(output_buffering)) {
      php_output_start_user(nullptr, PG(output_buffering) > 1 ? PG(output_buffering) : 0,
                            PHP_OUTPUT_HANDLER_STDFLAGS);
    } else if (PG(implicit_flush)) {
      php_output_set_implicit_flush(1);
    }
    ResetSuperglobals();
    ReloadModules(true);
  }
  zend_catch { ok = false; }
  zend_end_try();
  return ok;
}

// The request half of php_request_shutdown(): flush output and headers,
// drop the session, read the rest of the body, free SAPI request state
// (headers, uploaded files), then undo ini_set()/chdir().
void WorkerRequestShutdown(WorkerState* w) {
  zend_try { php_output_end_all(); }
  zend_end_try();
  zend_try { ReloadModules(false); }
  zend_end_try();
  zend_try { ResetSession(); }
  zend_end_try();
  zend_try { php_output_deactivate(); }
  zend_end_try();
  // The request body php://input buffered (a temp stream, two resources):
  // classic mode frees it with the request's resource list, which a worker
  // never destroys; sapi_deactivate() only forgets it. A php://input stream
  // the script kept past its request would read freed memory now, so it
  // must not do that (docs/worker-mode.md).
  if (SG(request_info).request_body != nullptr) {
    php_stream* body = SG(request_info).request_body;
    SG(request_info).request_body = nullptr;
    zend_try { php_stream_close(body); }
    zend_end_try();
  }
  zend_try { sapi_deactivate(); }
  zend_end_try();
  // sapi_deactivate() frees these two without forgetting them (SAPI.c);
  // the next sapi_activate() would, but after the loop's last request the
  // boot request's php_request_shutdown() comes first and freed them again
  // (a double free, seen by ASan after a POST that was the run's last).
  SG(request_info).content_type_dup = nullptr;
  SG(request_info).current_user = nullptr;
  ClearLastError();
  zend_try { RestoreIni(w); }
  zend_end_try();
  if (!w->boot_cwd.empty()) VCWD_CHDIR(w->boot_cwd.c_str());
  zend_set_memory_limit(PG(memory_limit));
}

// Calls the handler; an exception it leaves is reported as uncaught (the
// client gets 500) unless it is exit(), which ends the run after this
// request.
void CallHandler(WorkerState* w, zend_fcall_info* fci, zend_fcall_info_cache* fcc) {
  zval retval;
  ZVAL_UNDEF(&retval);
  fci->retval = &retval;
  fci->params = nullptr;
  fci->param_count = 0;
  zend_call_function(fci, fcc);
  zval_ptr_dtor(&retval);
  if (EG(exception) == nullptr) return;
  if (zend_is_unwind_exit(EG(exception)) || zend_is_graceful_exit(EG(exception))) {
    zend_clear_exception();
    w->exit_pending = true;
    w->reason = "exit() in the request handler";
    w->cause = base::RestartCause::kExit;
    return;
  }
  if (!SG(headers_sent)) SG(sapi_headers).http_response_code = 500;
  zend_exception_error(EG(exception), E_ERROR);  // logs "Uncaught ...", E_DONT_BAIL
  if (!SG(headers_sent)) SG(sapi_headers).http_response_code = 500;
}

// Detaches SG(request_info) from the finished request's params.
void ResetRequestInfo() {
  sapi_request_info& ri = SG(request_info);
  ri.request_method = nullptr;
  ri.query_string = nullptr;
  ri.request_uri = nullptr;
  ri.content_type = nullptr;
  ri.cookie_data = nullptr;
  ri.content_length = 0;
  ri.headers_only = 0;
  ri.path_translated = nullptr;
  ri.no_headers = 1;  // back in the boot request
}

class HandlerServe final : public RequestSource::Serve {
 public:
  HandlerServe(WorkerState* w, zend_fcall_info* fci, zend_fcall_info_cache* fcc) : w_(w), fci_(fci), fcc_(fcc) {}

  RequestOutcome operator()(fastcgi::Exchange& ex) override {
    RequestOutcome outcome;
    if (w_->bailout_pending || w_->exit_pending) {
      // A request read together with the one that ended the run: it
      // cannot run in this script, which is ending.
      fastcgi::RespondUnavailable(ex, "worker script restarting");
      outcome.http_status = 503;
      return outcome;
    }
    AccessLogMark access;
    BeginAccessLog(&access);
    // Per-request memory (%M, the status page's last request memory):
    // the peak since this request started, not since the script booted.
    zend_memory_reset_peak_usage();
    RequestContext ctx;
    ctx.exchange = &ex;
    SG(server_context) = &ctx;
    // Back to the boot request's context, however this request ends.
    auto back_to_boot = [this] {
      ResetRequestInfo();
      SG(server_context) = w_->boot_ctx;
      RequestEnv().Reset(w_->boot_ctx->exchange->params());
    };
    try {
      FillRequestInfo(ex);
      ArmInputDeadline(ex);
    } catch (...) {
      back_to_boot();
      throw;
    }
    BeginTrackedRequest(ex.socket_fd());
    // An exception of ours from here on (Contain(), and the SAPI callbacks
    // theirs) is kept in ctx.failure and rethrown once the request is shut
    // down: the request fails (its connection is closed), the script's
    // state does not.
    outcome.bailout = !Run();
    std::string label;
    if (outcome.bailout || w_->exit_pending || w_->leaks || w_->options->memory_recycle != 0) label = RequestLabel(ex);
    if (w_->exit_pending) w_->reason += " (request " + label + ")";
    if (outcome.bailout) {
      // Before the request's shutdown clears error_get_last().
      const std::string error = LastError();
      w_->reason = "fatal error in the request handler" + (error.empty() ? "" : ": " + error) + " (request " +
                   label + ")";
      w_->cause = TimedOut() ? base::RestartCause::kTimeout : base::RestartCause::kCrash;
    }
    if (w_->leaks) w_->last_request = label;
    outcome.http_status = SG(sapi_headers).http_response_code;
    outcome.memory_peak = zend_memory_peak_usage(true);
    Contain(&ctx, [&] {
      if (SG(request_info).auth_user != nullptr) outcome.auth_user = SG(request_info).auth_user;
      WriteAccessLog(access, ex);
    });
    WorkerRequestShutdown(w_);
    outcome.aborted = ex.aborted();
    if (!ctx.failure) Contain(&ctx, [&ex] { ex.Finish(0); });
    EndTrackedRequest();
    back_to_boot();
    if (outcome.bailout) w_->bailout_pending = true;
    if (ctx.failure) std::rethrow_exception(ctx.failure);
    if (outcome.bailout) return outcome;
    if (w_->exit_pending) return outcome;
    ++w_->requests;
    const WorkerOptions& o = *w_->options;
    if (o.max_requests != 0 && w_->requests >= o.max_requests) {
      w_->recycle = true;
      w_->reason = "max_requests reached";
      w_->cause = base::RestartCause::kMaxRequests;
    } else if (o.memory_recycle != 0 && zend_memory_usage(false) > o.memory_recycle) {
      w_->recycle = true;
      w_->reason = "memory_recycle: " + std::to_string(zend_memory_usage(false)) + " bytes in use (limit " +
                   std::to_string(o.memory_recycle) + ") after request " + label;
      w_->cause = base::RestartCause::kMemory;
    }
    return outcome;
  }

 private:
  // false: the handler bailed out (fatal error, timeout); the response is
  // completed by the caller.
  bool Run() {
    volatile bool ok = true;
    zend_try {
      if (!WorkerRequestStartup()) {
        ok = false;
      } else if (!AnswerInputTimeout(CurrentRequest()) && !AnswerPingOrStatus()) {
        if (!w_->fail_next.empty()) {
          // leak_check strict: the previous request left state behind.
          SG(sapi_headers).http_response_code = 500;
          php_printf("tfpm leak_check strict: the previous request left state changed: %s\n",
                     w_->fail_next.c_str());
          w_->fail_next.clear();
        } else {
          zend_set_timeout(EG(timeout_seconds), 0);
          CallHandler(w_, fci_, fcc_);
        }
      }
    }
    zend_catch { ok = false; }
    zend_end_try();
    zend_unset_timeout();
    if (!ok && !SG(headers_sent)) SG(sapi_headers).http_response_code = 500;
    return ok;
  }

  WorkerState* w_;
  zend_fcall_info* fci_;
  zend_fcall_info_cache* fcc_;
};

bool StartBootRequest() {
  bool started = false;
  zend_first_try { started = php_request_startup() == SUCCESS; }
  zend_end_try();
  SG(request_info).no_headers = 1;  // the boot's output is logged, without a CGI head
  return started;
}

// Runs the script inside the boot request. Only trivially destructible
// locals between setjmp and longjmp.
bool ExecuteScript(const char* script) {
  bool completed = false;
  zend_first_try {
    zend_file_handle fh;
    zend_stream_init_filename(&fh, script);
    php_execute_script(&fh);
    zend_destroy_file_handle(&fh);
    completed = true;
  }
  zend_end_try();
  return completed;
}

// leak_check: diffs the state against the previous call's (the first call
// takes the baseline after the boot) and reports what the last request,
// with what ran between the two calls (the script's loop, e.g. a kernel's
// terminate()), left changed. Each item is logged once per run, at most
// kMaxLeakLines items per run (the app's own state names them, not the
// client, but a run could otherwise log thousands); every report is counted.
constexpr size_t kMaxLeakLines = 64;

void CheckLeaks(WorkerState* w) {
  std::vector<std::string> changed;
  w->leaks->Check(&changed);
  if (changed.empty() || w->requests <= w->options->leak_warmup) return;
  if (w->options->state_leaks) w->options->state_leaks->fetch_add(changed.size(), std::memory_order_relaxed);
  std::string all;
  for (const std::string& item : changed) {
    if (w->run_leaks && w->run_leaks->size() < 256) w->run_leaks->push_back(item + " <- " + w->last_request);
    if (!all.empty()) all += ", ";
    all += item;
    if (w->logged.size() > kMaxLeakLines || !w->logged.insert(item).second) continue;
    if (w->logged.size() > kMaxLeakLines) {
      log::Warning("leak_check: {} items of this run of {} were logged; further ones are counted, not logged",
                   kMaxLeakLines, w->script);
      continue;
    }
    log::Warning("leak_check: {} changed by request {} (request {} of this run of {}; further changes of it "
                 "are counted, not logged)",
                 item, w->last_request, w->requests, w->script);
  }
  if (w->options->leak_check == WorkerOptions::LeakCheck::kStrict) w->fail_next = std::move(all);
}

}  // namespace

// tfpm_handle_request(callable $handler): bool, and its alias
// frankenphp_handle_request (registered in php_functions.cc).
PHP_FUNCTION(tfpm_handle_request) {
  zend_fcall_info fci;
  zend_fcall_info_cache fcc;
  ZEND_PARSE_PARAMETERS_START(1, 1)
  Z_PARAM_FUNC(fci, fcc)
  ZEND_PARSE_PARAMETERS_END();

  WorkerState* w = t_worker;
  if (w == nullptr) {
    zend_throw_exception(spl_ce_RuntimeException,
                         "tfpm_handle_request() can only be called by a worker-mode pool's script", 0);
    RETURN_THROWS();
  }
  if (w->in_handler) {
    zend_throw_exception(spl_ce_RuntimeException, "tfpm_handle_request() called from inside its handler", 0);
    RETURN_THROWS();
  }
  if (!w->snapshot_taken) TakeBootSnapshot(w);
  if (w->leaks) CheckLeaks(w);
  if (w->stop || w->recycle) RETURN_FALSE;

  // Waiting for a request is not execution time.
  zend_unset_timeout();
  w->in_handler = true;
  bool served;
  {
    HandlerServe serve(w, &fci, &fcc);
    served = w->source->Next(serve);
  }
  w->in_handler = false;
  if (!served) {
    w->stop = true;
    RETURN_FALSE;
  }
  if (w->bailout_pending || w->exit_pending) {
    // Ends the run; RunWorkerScript's zend_first_try catches it.
    zend_bailout();
  }
  RETURN_TRUE;
}

bool InWorkerThread() { return t_worker != nullptr; }

WorkerRun RunWorkerScript(const WorkerOptions& options, RequestSource& source) {
  WorkerRun run;
  WorkerState state;
  state.options = &options;
  state.source = &source;
  state.script = options.script;
  BootExchange boot(options.script);
  RequestContext boot_ctx;
  boot_ctx.exchange = &boot;
  state.boot_ctx = &boot_ctx;
  state.run_leaks = &run.leaks;
  if (options.leak_check != WorkerOptions::LeakCheck::kOff) {
    state.leaks = std::make_unique<LeakDetector>(options.leak_allow);
  }
  t_worker = &state;

  SG(server_context) = &boot_ctx;
  RequestEnv().Reset(boot.params());  // the boot request's $_SERVER and getenv()
  SG(request_info).path_translated = state.script.data();
  SG(request_info).request_method = nullptr;
  SG(sapi_headers).http_response_code = 200;

  bool completed = false;
  if (StartBootRequest()) {
    // php_execute_script() catches a fatal error itself; the error it
    // leaves behind says the script did not end on its own terms.
    completed = ExecuteScript(state.script.c_str()) && !(PG(last_error_type) & kFatalErrors);
    if (!completed && state.reason.empty()) {
      // First line only: the log line stays one line.
      const std::string error = LastError();
      state.reason = error.empty() ? "fatal error in the worker script" : "fatal error: " + error;
      state.cause = TimedOut() ? base::RestartCause::kTimeout : base::RestartCause::kCrash;
    }
    // Its pointers into the run's classes and functions die with the boot request.
    state.leaks.reset();
    KeepExecutionTimer keep_timer;
    php_request_shutdown(nullptr);
  } else {
    state.reason = "php_request_startup() failed";
  }
  SG(server_context) = nullptr;
  t_worker = nullptr;

  run.requests = state.requests;
  run.cause = state.cause;
  if (state.bailout_pending || state.exit_pending) {
    run.end = WorkerRun::End::kFailed;
  } else if (!completed) {
    run.end = WorkerRun::End::kFailed;
  } else if (state.stop) {
    run.end = WorkerRun::End::kStopped;
    run.cause = base::RestartCause::kReload;
  } else if (state.recycle) {
    run.end = WorkerRun::End::kRecycle;
  } else if (state.requests > 0) {
    run.end = WorkerRun::End::kRecycle;
    run.cause = base::RestartCause::kExit;
    state.reason = "the worker script returned";
  } else {
    run.end = WorkerRun::End::kFailed;
    run.cause = base::RestartCause::kExit;
    if (state.reason.empty()) state.reason = "the worker script returned without serving a request";
  }
  run.reason = std::move(state.reason);
  return run;
}

}  // namespace tfpm::sapi
