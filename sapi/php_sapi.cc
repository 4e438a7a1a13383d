// The SAPI module table and its callbacks, and the process/thread lifecycle.
// Callbacks are thin adapters (STYLE.md §9): each reads the request from
// SG(server_context) and delegates to fastcgi::Exchange. They are noexcept and
// hold only trivially destructible locals, because PHP may longjmp
// (zend_bailout) through any frame that calls back into the engine.
#include <strings.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "base/log.h"
#include "sapi/php_internal.h"
#include "tfpm_build_config.h"

extern "C" {
#include <Zend/zend_extensions.h>
#include <main/http_status_codes.h>
}

ZEND_TSRMLS_CACHE_DEFINE()

namespace tfpm::sapi {
namespace {

RuntimeOptions* g_options = nullptr;  // set once in Startup, before threads
std::string* g_ini_entries = nullptr;
std::string* g_sapi_name = nullptr;
void (*g_original_import_environment)(zval*) = nullptr;

// ---- output -----------------------------------------------------------

size_t UbWrite(const char* str, size_t len) noexcept {
  RequestContext* ctx = CurrentRequest();
  if (ctx == nullptr) return len;  // outside a request (startup messages)
  if (!ctx->exchange->WriteStdout({str, len})) {
    php_handle_aborted_connection();  // may bail out when !ignore_user_abort
    return 0;
  }
  return len;
}

void Flush(void* server_context) noexcept {
  auto* ctx = static_cast<RequestContext*>(server_context);
  if (ctx == nullptr || SG(request_info).no_headers) return;
  if (!ctx->exchange->Flush()) php_handle_aborted_connection();
}

// CGI response head exactly as php-fpm's sapi_cgi_send_headers builds it:
// "Status:" only when not 200 (or taken from the status line / a Status
// header), headers in order, Content-Type dropped on 304, then CRLF.
int SendHeaders(sapi_headers_struct* headers) noexcept {
  RequestContext* ctx = CurrentRequest();
  if (ctx == nullptr || SG(request_info).no_headers == 1) return SAPI_HEADER_SENT_SUCCESSFULLY;
  thread_local std::string head;  // reused; never longjmp'd over (no engine calls below)
  head.clear();
  const int code = SG(sapi_headers).http_response_code;
  int response_status = code;
  bool ignore_status = false;
  zend_llist_position pos;
  if (code != 200) {
    bool has_status = false;
    const char* line = SG(sapi_headers).http_status_line;
    const char* space = line ? std::strchr(line, ' ') : nullptr;
    if (space && space - line >= 5 && strncasecmp(line, "HTTP/", 5) == 0) {
      head.append("Status:").append(space);
      response_status = std::atoi(space + 1);
    } else {
      for (auto* h = static_cast<sapi_header_struct*>(zend_llist_get_first_ex(&headers->headers, &pos));
           h; h = static_cast<sapi_header_struct*>(zend_llist_get_next_ex(&headers->headers, &pos))) {
        if (h->header_len > 7 && strncasecmp(h->header, "Status:", 7) == 0) {
          has_status = true;
          break;
        }
      }
      if (!has_status) {
        const http_response_status_code_pair* entry = http_status_map;
        while (entry->code != 0 && entry->code != code) ++entry;
        head.append("Status: ").append(std::to_string(code));
        if (entry->str) head.append(" ").append(entry->str);
      }
    }
    if (!has_status) {
      head.append("\r\n");
      ignore_status = true;
    }
  }
  for (auto* h = static_cast<sapi_header_struct*>(zend_llist_get_first_ex(&headers->headers, &pos));
       h; h = static_cast<sapi_header_struct*>(zend_llist_get_next_ex(&headers->headers, &pos))) {
    if (h->header_len == 0) continue;
    if (h->header_len > 7 && strncasecmp(h->header, "Status:", 7) == 0) {
      if (!ignore_status) {
        ignore_status = true;
        head.append(h->header, h->header_len).append("\r\n");
      }
    } else if (response_status == 304 && h->header_len > 13 &&
               strncasecmp(h->header, "Content-Type:", 13) == 0) {
      continue;
    } else {
      head.append(h->header, h->header_len).append("\r\n");
    }
  }
  head.append("\r\n");
  return ctx->exchange->WriteStdout(head) ? SAPI_HEADER_SENT_SUCCESSFULLY : SAPI_HEADER_SEND_FAILED;
}

// ---- input ------------------------------------------------------------

size_t ReadPost(char* buffer, size_t count) noexcept {
  RequestContext* ctx = CurrentRequest();
  if (ctx == nullptr) return 0;
  size_t total = 0;
  while (total < count) {
    ssize_t n = ctx->exchange->ReadStdin({buffer + total, count - total});
    if (n <= 0) break;
    total += static_cast<size_t>(n);
  }
  if (ctx->exchange->input_timed_out() && !ctx->input_timed_out) {
    ctx->input_timed_out = true;
    log::Warning("max_input_time ({} s) passed while reading the request body of {}", PG(max_input_time),
                 SG(request_info).path_translated ? SG(request_info).path_translated : "?");
    // While the script runs (php://input), a truncated body must not reach
    // it: answer 408 and end the request here. During request startup the
    // caller answers 408 instead of running the script.
    if (!PG(during_request_startup)) {
      (void)AnswerInputTimeout(ctx);
      zend_bailout();
    }
  }
  return total;
}

char* ReadCookies() noexcept {
  if (CurrentRequest() == nullptr) return nullptr;
  return const_cast<char*>(RequestEnv().GetCString("HTTP_COOKIE"));
}

char* GetEnv(const char* name, size_t name_len) noexcept {
  if (CurrentRequest() == nullptr) return ::getenv(name);
  return const_cast<char*>(RequestEnv().GetCString(std::string_view(name, name_len)));
}

// Registers the request's CGI environment into `array` in php-fpm's order,
// through the input filter (php-fpm's cgi_php_load_env_var: ext/filter
// keeps its own copy for filter_input(INPUT_SERVER, ...) and applies
// filter.default; for PARSE_SERVER/PARSE_ENV it never frees or rewrites the
// buffer) or not (cgi_php_load_env_var_unfilterd).
void RegisterRequestEnv(zval* array, bool filtered) {
  const int filter_arg =
      Z_ARR_P(array) == Z_ARR(PG(http_globals)[TRACK_VARS_ENV]) ? PARSE_ENV : PARSE_SERVER;
  RequestEnv().ForEachForRegistration([array, filter_arg, filtered](std::string_view name, std::string_view value) {
    char* val = const_cast<char*>(value.data());
    size_t len = filtered ? std::strlen(val) : value.size();
    if (!filtered || sapi_module.input_filter(filter_arg, name.data(), &val, len, &len)) {
      php_register_variable_safe(const_cast<char*>(name.data()), val, len, array);
    }
  });
}

// True when `array` is not that superglobal and the superglobal is a
// non-empty array: then `array` becomes a copy of it.
bool CopyOfSuperglobal(zval* array, int track) {
  zval* global = &PG(http_globals)[track];
  if (Z_TYPE_P(global) != IS_ARRAY || Z_ARR_P(array) == Z_ARR_P(global) ||
      zend_hash_num_elements(Z_ARRVAL_P(global)) == 0) {
    return false;
  }
  zend_array_destroy(Z_ARR_P(array));
  Z_ARR_P(array) = zend_array_dup(Z_ARR_P(global));
  return true;
}

// $_SERVER (and $_ENV when variables_order has E): as php-fpm's
// cgi_php_import_environment_variables, a copy of $_ENV or $_SERVER if one
// is built already, else the process environment and then the request's
// CGI environment, filtered. Not the copy in a worker thread: there the
// superglobals still hold the boot's or the previous request's values.
void ImportEnvironment(zval* array) noexcept {
  if (CurrentRequest() != nullptr && !InWorkerThread() &&
      (CopyOfSuperglobal(array, TRACK_VARS_ENV) || CopyOfSuperglobal(array, TRACK_VARS_SERVER))) {
    return;
  }
  g_original_import_environment(array);
  if (CurrentRequest() != nullptr) RegisterRequestEnv(array, true);
}

// getenv() without a name: the process environment and the request's CGI
// environment, unfiltered (php-fpm's cgi_php_load_environment_variables).
void LoadEnvironment(zval* array) noexcept {
  g_original_import_environment(array);
  if (CurrentRequest() != nullptr) RegisterRequestEnv(array, false);
}

// PHP_SELF: SCRIPT_NAME + PATH_INFO with cgi.fix_pathinfo, else
// SG(request_info).request_uri alone (php-fpm's sapi_cgi_register_variables).
void RegisterServerVariables(zval* array) noexcept {
  php_import_environment_variables(array);
  if (CurrentRequest() == nullptr) return;
  const char* script = SG(request_info).request_uri ? SG(request_info).request_uri : "";
  const size_t script_len = std::strlen(script);
  const char* path_info = nullptr;
  if (INI_BOOL(const_cast<char*>("cgi.fix_pathinfo"))) path_info = RequestEnv().GetCString("PATH_INFO");
  const size_t info_len = path_info ? std::strlen(path_info) : 0;
  size_t len = script_len + info_len;
  char* self = static_cast<char*>(emalloc(len + 1));
  std::memcpy(self, script, script_len);
  if (info_len) std::memcpy(self + script_len, path_info, info_len);
  self[len] = '\0';
  if (sapi_module.input_filter(PARSE_SERVER, "PHP_SELF", &self, len, &len)) {
    php_register_variable_safe(const_cast<char*>("PHP_SELF"), self, len, array);
  }
  efree(self);
  if (InWorkerThread()) {
    // Worker scripts (and FrankenPHP's, e.g. Symfony Runtime) check these.
    php_register_variable_safe(const_cast<char*>("TFPM_WORKER"), const_cast<char*>("1"), 1, array);
    php_register_variable_safe(const_cast<char*>("FRANKENPHP_WORKER"), const_cast<char*>("1"), 1, array);
  }
}

// ---- logging ----------------------------------------------------------

void LogMessage(const char* message, int /*syslog_type*/) noexcept {
  RequestContext* ctx = CurrentRequest();
  if (ctx != nullptr && !ctx->exchange->finished()) {
    // As php-fpm: the web server logs it ("FastCGI sent in stderr: ...").
    thread_local std::string line;
    line.assign("PHP message: ").append(message);
    LogToWebServer(ctx, line);
    return;
  }
  // log_limit, as php-fpm's zlog_msg: a long message is cut with "...".
  thread_local std::string text;
  text.assign("PHP message: ").append(message);
  log::Notice("{}", log::FitMessage(log::Level::kNotice, text));
}

// TSRM calls this on every thread that gets a PHP context (ts_resource),
// right after it set the thread's TSRM storage and before the resource
// constructors and Zend's new-thread handler run. That handler re-runs
// every INI entry's on_modify (zend_ini_refresh_caches), so a setting that
// PHP reports at startup (session.sid_length's deprecation, say) reports it
// again on each new thread, through our log_message and ub_write, before
// PhpThreadScope's own code runs. Those callbacks reach SG() and PG()
// through this library's TSRM cache, a thread_local of ours that would still
// be null there (or point at a freed context after a recycle): refresh it
// first, so PHP's messages on a new thread find their context.
tsrm_thread_begin_func_t g_previous_thread_begin = nullptr;

void OnNewPhpThread(THREAD_T thread_id) {
  ZEND_TSRMLS_CACHE_UPDATE();
  if (g_previous_thread_begin != nullptr) g_previous_thread_begin(thread_id);
}

int Startup(sapi_module_struct* module) noexcept {
  return php_module_startup(module, &tfpm_module_entry) == SUCCESS ? SUCCESS : FAILURE;
}

// Classic requests only: a worker script's requests keep the INI state the
// worker restores after each of them (php_worker.cc).
int Activate() noexcept {
  if (CurrentRequest() != nullptr && !InWorkerThread()) ActivatePerDirectoryIni();
  return SUCCESS;
}

int Deactivate() noexcept { return SUCCESS; }

sapi_module_struct g_module = {
    const_cast<char*>("fpm-fcgi"),                 // name (replaced in Startup)
    const_cast<char*>("tfpm FastCGI (threaded)"),  // pretty name
    Startup,                                       // startup
    php_module_shutdown_wrapper,                   // shutdown
    Activate,                                      // activate
    Deactivate,                                    // deactivate
    UbWrite,                                       // unbuffered write
    Flush,                                         // flush
    nullptr,                                       // get uid
    GetEnv,                                        // getenv
    php_error,                                     // error handler
    nullptr,                                       // header handler
    SendHeaders,                                   // send headers handler
    nullptr,                                       // send header handler
    ReadPost,                                      // read POST data
    ReadCookies,                                   // read Cookies
    RegisterServerVariables,                       // register server variables
    LogMessage,                                    // log message
    nullptr,                                       // get request time
    nullptr,                                       // terminate process
    STANDARD_SAPI_MODULE_PROPERTIES};

// Values go to PHP's INI parser as php.ini lines would, so constants and
// expressions work ("E_ALL & ~E_DEPRECATED"); anything the parser would cut
// or misread is quoted.
std::string IniValue(const std::string& value) {
  bool plain = !value.empty() && value.front() != ' ' && value.back() != ' ';
  for (char c : value) {
    if (c == ';' || c == '"' || c == '\n' || c == '=' || c == '$' || c == '{' || c == '}' ||
        c == '[' || c == ']' || c == '\'' || c == '#') {
      plain = false;
    }
  }
  if (plain) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\' || c == '$') out += '\\';
    out += c;
  }
  return out + "\"";
}

// php_admin_value: raise these entries to system level in the calling
// thread's own copy of the INI table, so ini_set() from a script fails.
void LockAdminEntries() {
  for (const auto& key : g_options->admin_keys) {
    auto* entry = static_cast<zend_ini_entry*>(
        zend_hash_str_find_ptr(EG(ini_directives), key.data(), key.size()));
    if (entry) entry->modifiable = ZEND_INI_SYSTEM;
  }
}

}  // namespace

const RuntimeOptions& Options() { return *g_options; }

Status PhpRuntime::Startup(const RuntimeOptions& options) {
  // Leaked on purpose: PHP keeps pointers into these for the process's life.
  g_options = new RuntimeOptions(options);
  g_sapi_name = new std::string(options.sapi_name);
  g_ini_entries = new std::string;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // PHP dlopen()s opcache.so with RTLD_DEEPBIND, which the sanitizer
  // runtimes refuse; sanitizer builds run without OPcache.
  const bool load_opcache = false;
#else
  const bool load_opcache = options.load_opcache;
#endif
  if (load_opcache) {
    const std::string opcache = std::string(TFPM_PHP_EXTENSION_DIR) + "/opcache.so";
    if (::access(opcache.c_str(), R_OK) == 0) *g_ini_entries += "zend_extension=" + opcache + "\n";
  }
  for (const auto& [key, value] : options.ini) {
    *g_ini_entries += key + "=" + IniValue(value) + "\n";
  }

  php_tsrm_startup();
  ZEND_TSRMLS_CACHE_UPDATE();
  g_previous_thread_begin =
      reinterpret_cast<tsrm_thread_begin_func_t>(tsrm_set_new_thread_begin_handler(OnNewPhpThread));
#ifdef ZEND_SIGNALS
  zend_signal_startup();
#endif
  sapi_startup(&g_module);
  // sapi_startup() resets these; set them afterwards (php_embed.c does too).
  g_module.name = g_sapi_name->data();
  g_module.ini_entries = g_ini_entries->c_str();
  g_module.php_ini_ignore_cwd = 1;
  if (options.ini_file.empty()) {
    g_module.php_ini_ignore = 1;
  } else {
    g_module.php_ini_path_override = const_cast<char*>(options.ini_file.c_str());
  }
  g_module.phpinfo_as_text = 0;
  g_original_import_environment = php_import_environment_variables;
  php_import_environment_variables = ImportEnvironment;
  php_load_environment_variables = LoadEnvironment;

  if (g_module.startup(&g_module) == FAILURE) {
    return Status::IoError("PHP startup (MINIT) failed; see the messages above");
  }
  LockAdminEntries();  // the main thread's context serves requests in tests
  InstallTimeoutHooks();
  return Status::Ok();
}

void PhpRuntime::Shutdown() {
  php_module_shutdown();
  sapi_shutdown();
  tsrm_shutdown();
}

std::vector<std::string> PhpRuntime::LoadedModules() {
  std::vector<std::string> out;
  void* module;
  ZEND_HASH_MAP_FOREACH_PTR(&module_registry, module) {
    out.emplace_back(static_cast<zend_module_entry*>(module)->name);
  }
  ZEND_HASH_FOREACH_END();
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return strcasecmp(a.c_str(), b.c_str()) < 0;
  });
  return out;
}

std::vector<std::string> PhpRuntime::ZendExtensions() {
  std::vector<std::string> out;
  for (zend_llist_element* e = zend_extensions.head; e; e = e->next) {
    out.emplace_back(static_cast<zend_extension*>(static_cast<void*>(e->data))->name);
  }
  return out;
}

PhpThreadScope::PhpThreadScope(int index) {
  (void)ts_resource(0);  // OnNewPhpThread has set this library's TSRM cache
  ZEND_TSRMLS_CACHE_UPDATE();
  LockAdminEntries();
  RegisterThread(index);
}

PhpThreadScope::~PhpThreadScope() {
  UnregisterThread();
  ts_free_thread();
  ZEND_TSRMLS_CACHE_UPDATE();  // null now: never a pointer into the freed context
}

}  // namespace tfpm::sapi
