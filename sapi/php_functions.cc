// The "tfpm" PHP module: functions php-fpm users call.
//   fastcgi_finish_request(): bool      — php-fpm's: flush, END_REQUEST, keep running
//   apache_request_headers(): array     — request headers rebuilt from HTTP_* params
//   getallheaders(): array              — alias
//   tfpm_handle_request(callable): bool — worker mode (php_worker.cc);
//   frankenphp_handle_request(callable) — alias
//   tfpm_info(): array                   — what this interpreter is: version,
//                                          ZTS, Zend max-execution timers, signals
// and php-fpm's INI entries that tfpm honours: cgi.fix_pathinfo,
// cgi.discard_path, fastcgi.logging, fastcgi.error_header (all
// PHP_INI_SYSTEM, php-fpm's defaults).
#include <unistd.h>

#include <string>
#include <string_view>

#include "base/log.h"

#include "sapi/php_internal.h"
#include "sapi/php_leak_check.h"

namespace tfpm::sapi {
namespace {

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_fastcgi_finish_request, 0, 0, _IS_BOOL, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_apache_request_headers, 0, 0, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

PHP_FUNCTION(fastcgi_finish_request) {
  ZEND_PARSE_PARAMETERS_NONE();
  RequestContext* ctx = CurrentRequest();
  if (ctx == nullptr || ctx->exchange->finished()) RETURN_FALSE;
  php_output_end_all();
  php_header();
  if (!ctx->failure) Contain(ctx, [ctx] { ctx->exchange->Finish(0); });
  MarkTrackedRequestFinished();
  // Later output has nowhere to go (Unit and php-fpm do the same).
  php_output_set_status(PHP_OUTPUT_DISABLED);
  RETURN_TRUE;
}

// Copies every header into the request's own zvals (sapi_add_request_header
// duplicates name and value), so nothing in the returned array points into
// the FastCGI connection's buffers. Walks the request's CGI environment in
// php-fpm's order, so the array's order matches php-fpm's.
PHP_FUNCTION(apache_request_headers) {
  ZEND_PARSE_PARAMETERS_NONE();
  array_init(return_value);
  if (CurrentRequest() == nullptr) return;
  RequestEnv().ForEachForRegistration([return_value](std::string_view name, std::string_view value) {
    sapi_add_request_header(name.data(), static_cast<unsigned int>(name.size()),
                            const_cast<char*>(value.data()), static_cast<unsigned int>(value.size()),
                            return_value);
  });
}

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_MASK_EX(arginfo_apache_response_headers, 0, 0, MAY_BE_ARRAY | MAY_BE_BOOL)
ZEND_END_ARG_INFO()

// The response headers set so far ("Name: value" lines of the SAPI header
// list), by name, a later header of the same name replacing an earlier
// one; false outside a request. FrankenPHP and PHP's CLI server have it.
PHP_FUNCTION(apache_response_headers) {
  ZEND_PARSE_PARAMETERS_NONE();
  if (CurrentRequest() == nullptr) RETURN_FALSE;
  array_init(return_value);
  for (zend_llist_element* e = SG(sapi_headers).headers.head; e != nullptr; e = e->next) {
    const auto* h = reinterpret_cast<const sapi_header_struct*>(e->data);
    const std::string_view line(h->header, h->header_len);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    if (name.empty()) continue;
    add_assoc_stringl_ex(return_value, name.data(), name.size(), value.data(), value.size());
  }
}

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_frankenphp_log, 0, 1, IS_VOID, 0)
ZEND_ARG_TYPE_INFO(0, message, IS_STRING, 0)
ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, level, IS_LONG, 0, "0")
ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, context, IS_ARRAY, 0, "[]")
ZEND_END_ARG_INFO()

// FrankenPHP's levels (Go's slog): DEBUG -4, INFO 0, WARN 4, ERROR 8.
constexpr zend_long kFrankenDebug = -4, kFrankenInfo = 0, kFrankenWarn = 4, kFrankenError = 8;

// Appends `text` with control bytes replaced: one log line, whatever the
// app passes.
void AppendClean(std::string* out, std::string_view text) {
  for (char c : text) out->push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
}

// frankenphp_log(string $message, int $level = 0, array $context = []):
// one line in the error log at the nearest of tfpm's levels, the context's
// scalar values appended as key=value (arrays and objects by type name;
// nothing of the app's is called). At most 4096 bytes of message.
PHP_FUNCTION(frankenphp_log) {
  zend_string* message;
  zend_long level = kFrankenInfo;
  HashTable* context = nullptr;
  ZEND_PARSE_PARAMETERS_START(1, 3)
  Z_PARAM_STR(message)
  Z_PARAM_OPTIONAL
  Z_PARAM_LONG(level)
  Z_PARAM_ARRAY_HT(context)
  ZEND_PARSE_PARAMETERS_END();
  std::string line;
  AppendClean(&line, std::string_view(ZSTR_VAL(message), std::min<size_t>(ZSTR_LEN(message), 4096)));
  if (context != nullptr) {
    zend_string* key;
    zend_ulong index;
    zval* v;
    ZEND_HASH_FOREACH_KEY_VAL(context, index, key, v) {
      if (line.size() > 8192) break;
      line += ' ';
      if (key) {
        AppendClean(&line, std::string_view(ZSTR_VAL(key), std::min<size_t>(ZSTR_LEN(key), 256)));
      } else {
        line += std::to_string(index);
      }
      line += '=';
      ZVAL_DEREF(v);
      switch (Z_TYPE_P(v)) {
        case IS_STRING: AppendClean(&line, std::string_view(Z_STRVAL_P(v), std::min<size_t>(Z_STRLEN_P(v), 1024))); break;
        case IS_LONG: line += std::to_string(Z_LVAL_P(v)); break;
        case IS_DOUBLE: line += std::to_string(Z_DVAL_P(v)); break;
        case IS_TRUE: line += "true"; break;
        case IS_FALSE: line += "false"; break;
        case IS_NULL: line += "null"; break;
        default: line += zend_zval_type_name(v); break;
      }
    }
    ZEND_HASH_FOREACH_END();
  }
  if (level >= kFrankenError) {
    log::Error("frankenphp_log: {}", line);
  } else if (level >= kFrankenWarn) {
    log::Warning("frankenphp_log: {}", line);
  } else if (level >= kFrankenInfo) {
    log::Notice("frankenphp_log: {}", line);
  } else {
    log::Debug("frankenphp_log: {}", line);
  }
}

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_headers_send, 0, 0, IS_LONG, 0)
ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, status, IS_LONG, 0, "200")
ZEND_END_ARG_INFO()

// FrankenPHP's headers_send(int $status = 200): int. A 1xx status (103
// Early Hints) would be an interim response, which FastCGI cannot carry
// (the front end would have to make one, and nginx does not): a no-op that
// keeps the status and headers for the final response and reports
// SAPI_HEADER_SENT_SUCCESSFULLY, as FrankenPHP does when it sent them. Any
// other status becomes the response's and the headers are sent now
// (sapi_send_headers(): 0 = SUCCESS).
PHP_FUNCTION(headers_send) {
  zend_long status = 200;
  ZEND_PARSE_PARAMETERS_START(0, 1)
  Z_PARAM_OPTIONAL
  Z_PARAM_LONG(status)
  ZEND_PARSE_PARAMETERS_END();
  if (status >= 100 && status < 200) RETURN_LONG(SAPI_HEADER_SENT_SUCCESSFULLY);
  SG(sapi_headers).http_response_code = static_cast<int>(status);
  RETURN_LONG(sapi_send_headers());
}

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_MASK_EX(arginfo_fpm_get_status, 0, 0, MAY_BE_ARRAY | MAY_BE_FALSE)
ZEND_END_ARG_INFO()

// php-fpm's fpm_get_status(): the pool's status page as an array.
PHP_FUNCTION(fpm_get_status) {
  ZEND_PARSE_PARAMETERS_NONE();
  if (!ExportStatus(return_value)) RETURN_FALSE;
}

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_tfpm_info, 0, 0, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

PHP_FUNCTION(tfpm_info) {
  ZEND_PARSE_PARAMETERS_NONE();
  array_init(return_value);
  add_assoc_string(return_value, "version", TFPM_PHP_MODULE_VERSION);
  add_assoc_string(return_value, "php", PHP_VERSION);
  add_assoc_string(return_value, "sapi", sapi_module.name);
#ifdef ZTS
  add_assoc_bool(return_value, "zts", true);
#else
  add_assoc_bool(return_value, "zts", false);
#endif
#ifdef ZEND_MAX_EXECUTION_TIMERS
  add_assoc_bool(return_value, "max_execution_timers", true);
#else
  add_assoc_bool(return_value, "max_execution_timers", false);
#endif
#ifdef ZEND_SIGNALS
  add_assoc_bool(return_value, "zend_signals", true);
#else
  add_assoc_bool(return_value, "zend_signals", false);
#endif
  add_assoc_long(return_value, "pid", static_cast<zend_long>(getpid()));
  add_assoc_long(return_value, "thread_id", static_cast<zend_long>(gettid()));
}

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_tfpm_handle_request, 0, 1, _IS_BOOL, 0)
ZEND_ARG_TYPE_INFO(0, callback, IS_CALLABLE, 0)
ZEND_END_ARG_INFO()

const zend_function_entry kFunctions[] = {
    ZEND_FE(fastcgi_finish_request, arginfo_fastcgi_finish_request)
    ZEND_FE(apache_request_headers, arginfo_apache_request_headers)
    ZEND_FE(fpm_get_status, arginfo_fpm_get_status)
    ZEND_FE(tfpm_info, arginfo_tfpm_info)
    ZEND_FE(tfpm_handle_request, arginfo_tfpm_handle_request)
    ZEND_RAW_FENTRY("frankenphp_handle_request", zif_tfpm_handle_request, arginfo_tfpm_handle_request, 0, nullptr, nullptr)
    ZEND_RAW_FENTRY("getallheaders", zif_apache_request_headers, arginfo_apache_request_headers, 0, nullptr, nullptr)
    // FrankenPHP's names for the same functions (docs/worker-mode.md).
    ZEND_RAW_FENTRY("frankenphp_finish_request", zif_fastcgi_finish_request, arginfo_fastcgi_finish_request, 0,
                    nullptr, nullptr)
    ZEND_RAW_FENTRY("frankenphp_request_headers", zif_apache_request_headers, arginfo_apache_request_headers, 0,
                    nullptr, nullptr)
    ZEND_FE(apache_response_headers, arginfo_apache_response_headers)
    ZEND_FE(headers_send, arginfo_headers_send)
    ZEND_FE(frankenphp_log, arginfo_frankenphp_log)
    ZEND_RAW_FENTRY("frankenphp_response_headers", zif_apache_response_headers, arginfo_apache_response_headers, 0,
                    nullptr, nullptr)
    ZEND_FE_END};

PHP_INI_BEGIN()
PHP_INI_ENTRY("cgi.fix_pathinfo", "1", PHP_INI_SYSTEM, nullptr)
PHP_INI_ENTRY("cgi.discard_path", "0", PHP_INI_SYSTEM, nullptr)
PHP_INI_ENTRY("fastcgi.logging", "1", PHP_INI_SYSTEM, nullptr)
PHP_INI_ENTRY("fastcgi.error_header", nullptr, PHP_INI_SYSTEM, nullptr)
PHP_INI_END()

PHP_MINIT_FUNCTION(tfpm) {
  REGISTER_INI_ENTRIES();
  RegisterLeakCheckClasses();  // #[TfpmAllowState]
  REGISTER_LONG_CONSTANT("FRANKENPHP_LOG_LEVEL_DEBUG", kFrankenDebug, CONST_PERSISTENT);
  REGISTER_LONG_CONSTANT("FRANKENPHP_LOG_LEVEL_INFO", kFrankenInfo, CONST_PERSISTENT);
  REGISTER_LONG_CONSTANT("FRANKENPHP_LOG_LEVEL_WARN", kFrankenWarn, CONST_PERSISTENT);
  REGISTER_LONG_CONSTANT("FRANKENPHP_LOG_LEVEL_ERROR", kFrankenError, CONST_PERSISTENT);
  return SUCCESS;
}

PHP_MSHUTDOWN_FUNCTION(tfpm) {
  UNREGISTER_INI_ENTRIES();
  return SUCCESS;
}

}  // namespace

zend_module_entry tfpm_module_entry = {
    STANDARD_MODULE_HEADER,
    "tfpm",
    kFunctions,
    PHP_MINIT(tfpm),
    PHP_MSHUTDOWN(tfpm),
    nullptr,  // RINIT
    nullptr,  // RSHUTDOWN
    nullptr,  // MINFO
    TFPM_PHP_MODULE_VERSION,
    STANDARD_MODULE_PROPERTIES};

}  // namespace tfpm::sapi
