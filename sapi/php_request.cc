// One classic request: SG(request_info) from the FastCGI params, the
// php-fpm answers for scripts that cannot run, then the script inside
// zend_first_try, then php_request_shutdown and END_REQUEST.
#include <sys/param.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/log.h"
#include "base/scratch.h"
#include "base/utf8.h"
#include "sapi/php_execution_timer.h"
#include "sapi/php_internal.h"

extern "C" {
#include <Zend/zend_virtual_cwd.h>
#include <main/php_output.h>
}

namespace tfpm::sapi {
namespace {

// The current request's environment and the strings SG(request_info) points
// into. Per thread: each PHP thread serves one request at a time.
thread_local CgiEnv t_env;
thread_local std::string t_script;
thread_local std::string t_script_name;

// The file system as php-fpm's init_request_info asks it: whether the
// script exists through tsrm_realpath(), so through this thread's realpath
// cache (CWDG, per thread in ZTS; php.ini's realpath_cache_size and
// realpath_cache_ttl), and the walk back at '/' with a plain stat(). A
// repeated request then costs no readlink(2) per path component.
//
// tsrm_realpath() emallocs: call it only between two classic requests,
// where php-fpm does (the Zend heap is empty, memory_limit cannot be hit),
// never inside a worker script's request (a bailout would cross our frames).
class RealpathCacheProbe final : public PathProbe {
 public:
  bool IsRegularFile(std::string_view path) const override { return RealFileSystem().IsRegularFile(path); }
  bool Exists(std::string_view path) const override {
    // A relative path would be resolved against the thread's virtual cwd,
    // which between requests is not the process's cwd php-fpm uses: those
    // keep realpath(3).
    if (!IS_ABSOLUTE_PATH(path.data(), path.size())) return RealFileSystem().Exists(path);
    char resolved[MAXPATHLEN];
    return tsrm_realpath(path.data(), resolved) != nullptr;
  }
};
const RealpathCacheProbe kRealpathCacheProbe;

bool ExtensionAllowed(std::string_view path) {
  const auto& allowed = Options().limit_extensions;
  if (allowed.empty()) return true;
  for (const auto& ext : allowed) {
    // As php-fpm: the name must be longer than the extension.
    if (path.size() > ext.size() && path.substr(path.size() - ext.size()) == ext) return true;
  }
  return false;
}

// ---- PHP_VALUE / PHP_ADMIN_VALUE ------------------------------------------
//
// php-fpm changes the child's master INI values for these, so they stay for
// every later request of that child. We change them for this request only:
// zend_alter_ini_entry records the old value and php_request_shutdown()
// (zend_ini_deactivate) restores it, and with it the entry's modifiability.

struct IniParse {
  RequestContext* ctx;
  bool admin;
};

bool AdminKey(std::string_view key) {
  for (const auto& k : Options().admin_keys) {
    if (k == key) return true;
  }
  return false;
}

void ApplyIniEntry(zval* arg1, zval* arg2, zval* /*arg3*/, int callback_type, void* arg) {
  auto* parse = static_cast<IniParse*>(arg);
  if (callback_type != ZEND_INI_PARSER_ENTRY) {
    LogToWebServer(parse->ctx, "Passing INI directive through FastCGI: only classic entries are allowed");
    return;
  }
  if (arg1 == nullptr || Z_TYPE_P(arg1) != IS_STRING || Z_STRLEN_P(arg1) == 0) {
    LogToWebServer(parse->ctx, "Passing INI directive through FastCGI: empty key");
    return;
  }
  std::string_view key(Z_STRVAL_P(arg1), Z_STRLEN_P(arg1));
  if (arg2 == nullptr || Z_TYPE_P(arg2) != IS_STRING) {
    LogToWebServer(parse->ctx, std::string("Passing INI directive through FastCGI: empty value for key '")
                                   .append(key).append("'"));
    return;
  }
  // Process-wide changes a request must not make in a shared process:
  // loading extensions, disabling functions/classes. A pool's
  // php_admin_value cannot be overridden by PHP_VALUE.
  const bool refused = key == "extension" || key == "zend_extension" || key == "disable_functions" ||
                       key == "disable_classes" || (!parse->admin && AdminKey(key));
  zend_string* name = zend_string_init(key.data(), key.size(), 0);
  const bool known = zend_hash_exists(EG(ini_directives), name);
  if (known && !refused) {
    // A value the entry rejects (its own warning says why) is not an error
    // of the param, as in php-fpm.
    zend_alter_ini_entry_chars_ex(name, Z_STRVAL_P(arg2), Z_STRLEN_P(arg2),
                                  parse->admin ? ZEND_INI_SYSTEM : ZEND_INI_USER, ZEND_INI_STAGE_ACTIVATE, 1);
  }
  zend_string_release(name);
  if (!known || refused) {
    std::string msg = std::string("Passing INI directive through FastCGI: unable to set '").append(key) + "'";
    log::Error("{}", base::EscapeForLog(msg));
    LogToWebServer(parse->ctx, msg);
  }
}

void ApplyRequestIni(RequestContext* ctx, const char* text, bool admin) {
  if (text == nullptr) return;
  IniParse parse{ctx, admin};
  char* buf;
  spprintf(&buf, 0, "%s\n", text);
  zend_parse_ini_string(buf, 1, ZEND_INI_SCANNER_NORMAL,
                        reinterpret_cast<zend_ini_parser_cb_t>(ApplyIniEntry), &parse);
  efree(buf);
}

}  // namespace

// ping.path and pm.status_path, answered as php-fpm's
// fpm_status_handle_request() does.
bool AnswerPingOrStatus() {
  const std::string& ping = Options().ping_path;
  if (!ping.empty() && SG(request_info).request_uri != nullptr && ping == SG(request_info).request_uri) {
    sapi_add_header_ex(ZEND_STRL("Content-Type: text/plain"), 1, 1);
    sapi_add_header_ex(ZEND_STRL("Expires: Thu, 01 Jan 1970 00:00:00 GMT"), 1, 1);
    sapi_add_header_ex(ZEND_STRL("Cache-Control: no-cache, no-store, must-revalidate, max-age=0"), 1, 1);
    SG(sapi_headers).http_response_code = 200;
    if (!SG(request_info).headers_only) PHPWRITE(Options().ping_response.data(), Options().ping_response.size());
    return true;
  }
  return AnswerStatusPage();
}

namespace {

// Everything between request startup and shutdown. Only trivially
// destructible locals: PHP may longjmp out of here. The answers for a
// script that cannot run are php-fpm's, word for word.
void RunScript(RequestContext* ctx) {
  if (AnswerInputTimeout(ctx)) return;  // body read during startup timed out
  // Not an HTTP request over FastCGI: php-fpm runs nothing.
  if (SG(request_info).request_method == nullptr) return;
  if (AnswerPingOrStatus()) return;
  const char* script = SG(request_info).path_translated;
  if (script == nullptr) {
    LogToWebServer(ctx, "Primary script unknown");
    SG(sapi_headers).http_response_code = 404;
    PUTS("File not found.\n");
    return;
  }
  if (!ExtensionAllowed(script)) {
    log::Notice("Access to the script '{}' has been denied (see security.limit_extensions)",
                base::EscapeForLog(script));
    LogToWebServer(ctx, std::string("Access to the script '") + script +
                            "' has been denied (see security.limit_extensions)");
    SG(sapi_headers).http_response_code = 403;
    PUTS("Access denied.\n");
    return;
  }
  // php_fopen_primary_script() without its doc_root/user_dir mapping: the
  // path must resolve, and opening it shows no error to the client.
  zend_file_handle file_handle;
  zend_string* filename = zend_string_init(script, std::strlen(script), 0);
  zend_string* resolved = zend_resolve_path(filename);
  int open_errno = 0;
  bool opened = false;
  if (resolved == nullptr) {
    open_errno = errno;
  } else {
    zend_string_release(resolved);
    const bool display_errors = PG(display_errors);
    PG(display_errors) = 0;
    zend_stream_init_filename_ex(&file_handle, filename);
    file_handle.primary_script = 1;
    if (zend_stream_open(&file_handle) == SUCCESS) {
      opened = true;
    } else {
      open_errno = errno;
      zend_destroy_file_handle(&file_handle);
    }
    PG(display_errors) = display_errors;
  }
  zend_string_release(filename);
  if (!opened) {
    {  // no engine call in this scope: PHP never longjmps over `release`
      thread_local std::string msg;
      base::ScratchRelease release(msg);  // the path is up to max_params_size
      msg.assign("Unable to open primary script: ").append(script).append(" (")
          .append(std::strerror(open_errno)).append(")");
      log::Error("{}", base::EscapeForLog(msg));
      LogToWebServer(ctx, msg);
    }
    if (open_errno == EACCES) {
      SG(sapi_headers).http_response_code = 403;
      PUTS("Access denied.\n");
    } else {
      SG(sapi_headers).http_response_code = 404;
      PUTS("No input file specified.\n");
    }
    return;
  }
  EG(exit_status) = 0;
  php_execute_script(&file_handle);
  zend_destroy_file_handle(&file_handle);
}

}  // namespace

void ArmInputDeadline(fastcgi::Exchange& ex) {
  if (PG(max_input_time) <= 0) return;
  ex.SetInputDeadline(base::MonotonicMicros() + static_cast<int64_t>(PG(max_input_time)) * 1000000);
}

bool AnswerInputTimeout(RequestContext* ctx) {
  if (ctx == nullptr || !ctx->input_timed_out) return false;
  zend_try {
    php_output_discard_all();
    if (!SG(headers_sent)) {
      SG(sapi_headers).http_response_code = 408;
      PUTS("Request Timeout: the request body did not arrive within max_input_time.\n");
    }
  }
  zend_end_try();
  LogToWebServer(ctx, "tfpm: request body not received within max_input_time");
  return true;
}

CgiEnv& RequestEnv() { return t_env; }

void LogToWebServer(RequestContext* ctx, std::string_view message) { LogToWebServer(ctx, {}, message); }

void LogToWebServer(RequestContext* ctx, std::string_view prefix, std::string_view message) {
  if (ctx == nullptr || (prefix.empty() && message.empty()) || ctx->exchange->finished()) return;
  if (!INI_BOOL(const_cast<char*>("fastcgi.logging"))) return;
  Contain(ctx, [ctx, prefix, message] {
    if (ctx->stderr_started) ctx->exchange->WriteStderr("; ");
    ctx->stderr_started = true;
    ctx->exchange->WriteStderr(prefix);
    ctx->exchange->WriteStderr(message);
  });
}

// php-fpm's init_request_info, without its INI part: SG(request_info) from
// the params and the script path rules (cgi_env.h).
void FillRequestInfo(fastcgi::Exchange& ex) {
  t_env.Reset(ex.params());
  sapi_request_info& ri = SG(request_info);
  ri.path_translated = nullptr;
  ri.request_method = const_cast<char*>(t_env.GetCString("REQUEST_METHOD"));
  ri.proto_num = 1000;  // php-fpm never reads SERVER_PROTOCOL (so POST redirects stay 302)
  ri.query_string = nullptr;
  ri.request_uri = nullptr;
  ri.content_type = nullptr;
  ri.content_length = 0;
  SG(sapi_headers).http_response_code = 200;

  if (t_env.Get("SCRIPT_FILENAME") || t_env.Get("PATH_TRANSLATED")) {
    ScriptPathOptions options;
    // A worker script's request is running on this thread: not PHP's
    // realpath cache there (see RealpathCacheProbe).
    options.fs = InWorkerThread() ? &RealFileSystem() : &kRealpathCacheProbe;
    options.fix_pathinfo = INI_BOOL(const_cast<char*>("cgi.fix_pathinfo"));
    options.discard_path = INI_BOOL(const_cast<char*>("cgi.discard_path"));
    if (PG(doc_root)) options.doc_root = PG(doc_root);
    // Read before the path rules may edit them.
    const char* length = t_env.GetCString("CONTENT_LENGTH");
    ri.content_length = length ? ZEND_ATOL(length) : 0;
    ScriptPaths paths = ComputeScriptPaths(t_env, options);
    // Copied into the thread's strings, which keep their room for the next
    // request unless a long path made it large: PHP holds them as char*
    // for the whole request.
    base::ReleaseIfLarge(t_script);
    base::ReleaseIfLarge(t_script_name);
    if (paths.script) {
      t_script.assign(*paths.script);
      ri.path_translated = t_script.data();
    }
    if (paths.script_name) {
      t_script_name.assign(*paths.script_name);
      ri.request_uri = t_script_name.data();
    }
    ri.query_string = const_cast<char*>(t_env.GetCString("QUERY_STRING"));
    const char* type = t_env.GetCString("CONTENT_TYPE");
    ri.content_type = type ? type : "";
    php_handle_auth_data(t_env.GetCString("HTTP_AUTHORIZATION"));
  }
}

void ApplyFastCgiIni() {
  RequestContext* ctx = CurrentRequest();
  ApplyRequestIni(ctx, t_env.GetCString("PHP_VALUE"), false);
  ApplyRequestIni(ctx, t_env.GetCString("PHP_ADMIN_VALUE"), true);
}

RequestOutcome ExecuteRequest(fastcgi::Exchange& exchange) {
  RequestOutcome outcome;
  AccessLogMark access;
  BeginAccessLog(&access);
  RequestContext ctx;
  ctx.exchange = &exchange;
  SG(server_context) = &ctx;
  // Until PHP's request starts only our code runs: an exception from it
  // undoes this request's PHP_VALUE changes and fails the request.
  try {
    FillRequestInfo(exchange);
    ApplyFastCgiIni();
    ArmInputDeadline(exchange);
  } catch (...) {
    zend_ini_deactivate();
    SG(server_context) = nullptr;
    throw;
  }
  BeginTrackedRequest(exchange.socket_fd());

  // From here on an exception of ours (Contain(), and the SAPI callbacks
  // theirs) is kept in ctx.failure: PHP's request is still shut down and
  // the tracking ended before it is rethrown, so the thread serves on.
  volatile bool started = false;  // set before the script may longjmp
  zend_first_try {
    if (php_request_startup() == SUCCESS) {
      started = true;
      Contain(&ctx, [&ctx] { RunScript(&ctx); });
    } else {
      log::Error("php_request_startup() failed");
      zend_ini_deactivate();  // undo this request's PHP_VALUE
    }
  }
  zend_catch { outcome.bailout = true; }
  zend_end_try();

  if (started) {
    // fastcgi.error_header: php-fpm's header for a fatal error (exit status 255).
    const char* error_header = INI_STR(const_cast<char*>("fastcgi.error_header"));
    if (EG(exit_status) == 255 && error_header && *error_header && !SG(headers_sent)) {
      zend_try {
        sapi_header_line line = {};
        line.line = error_header;
        line.line_len = std::strlen(error_header);
        sapi_header_op(SAPI_HEADER_REPLACE, &line);
      }
      zend_end_try();
    }
    outcome.http_status = SG(sapi_headers).http_response_code;
    outcome.memory_peak = zend_memory_peak_usage(true);
    outcome.heap_peak = zend_memory_peak_usage(false);
    // Read before php_request_shutdown(), which clears the last error.
    outcome.fatal_error = (PG(last_error_type) & E_FATAL_ERRORS) != 0;
    Contain(&ctx, [&] {
      if (SG(request_info).auth_user != nullptr) outcome.auth_user = SG(request_info).auth_user;
      WriteAccessLog(access, exchange);
    });
    KeepExecutionTimer keep_timer;
    php_request_shutdown(nullptr);
  } else {
    Contain(&ctx, [&] {
      exchange.WriteStdout("Status: 500 Internal Server Error\r\nContent-type: text/plain\r\n\r\n");
      outcome.http_status = 500;
      SG(sapi_headers).http_response_code = 500;
      WriteAccessLog(access, exchange);
    });
  }
  outcome.aborted = exchange.aborted();
  // A failed request is not completed: the caller closes its connection
  // (the web server answers 502), its output may be cut anywhere.
  if (!ctx.failure) Contain(&ctx, [&exchange] { exchange.Finish(0); });
  EndTrackedRequest();
  SG(server_context) = nullptr;
  if (ctx.failure) std::rethrow_exception(ctx.failure);
  return outcome;
}

}  // namespace tfpm::sapi
