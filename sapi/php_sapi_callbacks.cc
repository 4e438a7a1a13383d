#include "sapi/php_sapi_callbacks.h"

#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/log.h"
#include "base/scratch.h"
#include "base/utf8.h"

extern "C" {
#include <main/http_status_codes.h>
}

namespace tfpm::sapi::callbacks {

void (*g_original_import_environment)(zval*) = nullptr;
bool g_print_to_stdout = false;

// ---- output -----------------------------------------------------------

size_t UbWrite(const char* str, size_t len) noexcept {
  RequestContext* ctx = CurrentRequest();
  if (ctx == nullptr) {  // outside a request (startup messages), or `tfpm -i`
    if (g_print_to_stdout) std::fwrite(str, 1, len, stdout);
    return len;
  }
  bool written = false;
  if (!ctx->failure) Contain(ctx, [&] { written = ctx->exchange->WriteStdout({str, len}); });
  if (!written) {
    php_handle_aborted_connection();  // may bail out when !ignore_user_abort
    return 0;
  }
  return len;
}

void Flush(void* server_context) noexcept {
  auto* ctx = static_cast<RequestContext*>(server_context);
  if (ctx == nullptr || SG(request_info).no_headers) return;
  bool flushed = false;
  if (!ctx->failure) Contain(ctx, [&] { flushed = ctx->exchange->Flush(); });
  if (!flushed) php_handle_aborted_connection();
}

namespace {

// CGI response head exactly as php-fpm's sapi_cgi_send_headers builds it:
// "Status:" only when not 200 (or taken from the status line / a Status
// header), headers in order, Content-Type dropped on 304, then CRLF.
bool WriteHead(RequestContext* ctx, sapi_headers_struct* headers) {
  thread_local std::string head;  // reused; never longjmp'd over (no engine calls below)
  head.clear();
  bool ok = true;
  // The head goes out in pieces of at most base::kScratchKeep, and a longer
  // header line (PHP bounds it by memory_limit alone) on its own: the
  // buffer is never grown to a rare header's size, nor kept at it.
  auto add = [&](std::string_view piece) {
    if (head.size() + piece.size() > base::kScratchKeep) {
      ok = ok && ctx->exchange->WriteStdout(head);
      head.clear();
      if (piece.size() > base::kScratchKeep) {
        ok = ok && ctx->exchange->WriteStdout(piece);
        return;
      }
    }
    head.append(piece);
  };
  const int code = SG(sapi_headers).http_response_code;
  int response_status = code;
  bool ignore_status = false;
  zend_llist_position pos;
  if (code != 200) {
    bool has_status = false;
    const char* line = SG(sapi_headers).http_status_line;
    const char* space = line ? std::strchr(line, ' ') : nullptr;
    if (space && space - line >= 5 && strncasecmp(line, "HTTP/", 5) == 0) {
      head.append("Status:");
      add(space);
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
        add({h->header, h->header_len});
        add("\r\n");
      }
    } else if (response_status == 304 && h->header_len > 13 &&
               strncasecmp(h->header, "Content-Type:", 13) == 0) {
      continue;
    } else {
      add({h->header, h->header_len});
      add("\r\n");
    }
  }
  add("\r\n");
  return ok && ctx->exchange->WriteStdout(head);
}

}  // namespace

int SendHeaders(sapi_headers_struct* headers) noexcept {
  RequestContext* ctx = CurrentRequest();
  if (ctx == nullptr || SG(request_info).no_headers == 1) return SAPI_HEADER_SENT_SUCCESSFULLY;
  bool sent = false;
  if (!ctx->failure) Contain(ctx, [&] { sent = WriteHead(ctx, headers); });
  return sent ? SAPI_HEADER_SENT_SUCCESSFULLY : SAPI_HEADER_SEND_FAILED;
}

// ---- input ------------------------------------------------------------

size_t ReadPost(char* buffer, size_t count) noexcept {
  RequestContext* ctx = CurrentRequest();
  if (ctx == nullptr) return 0;
  size_t total = 0;
  bool timed_out = false;
  if (ctx->failure) return 0;
  Contain(ctx, [&] {
    while (total < count) {
      ssize_t n = ctx->exchange->ReadStdin({buffer + total, count - total});
      if (n <= 0) break;
      total += static_cast<size_t>(n);
    }
    timed_out = ctx->exchange->input_timed_out() && !ctx->input_timed_out;
    if (timed_out) {
      log::Warning("max_input_time ({} s) passed while reading the request body of {}", PG(max_input_time),
                   base::EscapeForLog(SG(request_info).path_translated ? SG(request_info).path_translated : "?"));
    }
  });
  if (timed_out) {
    ctx->input_timed_out = true;
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

namespace {

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

}  // namespace

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
    Contain(ctx, [&] { LogToWebServer(ctx, "PHP message: ", message); });
    return;
  }
  // log_limit, as php-fpm's zlog_msg: a long message is cut with "...".
  Contain(ctx, [&] {
    thread_local std::string text;
    base::ScratchRelease release(text);  // log_limit may be large
    // FitMessage cuts at log_limit: no need to copy more of a long message.
    text.assign("PHP message: ").append(std::string_view(message).substr(0, log::LineLimit()));
    log::Notice("{}", log::FitMessage(log::Level::kNotice, text));
  });
}

}  // namespace tfpm::sapi::callbacks
