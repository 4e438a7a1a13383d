// One classic request: SG(request_info) from the FastCGI params, the
// php-fpm answers for scripts that cannot run, then the script inside
// zend_first_try, then php_request_shutdown and END_REQUEST.
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "base/log.h"
#include "sapi/php_internal.h"

extern "C" {
#include <main/php_output.h>
}

namespace tfpm::sapi {
namespace {

char* ParamOrNull(fastcgi::Exchange& ex, std::string_view name) {
  auto v = ex.FindParam(name);
  return v ? const_cast<char*>(v->data()) : nullptr;
}

int ProtocolNumber(const char* proto) {
  // "HTTP/1.1" -> 1001, as php-fpm's init_request_info.
  if (proto && std::strlen(proto) >= 8 && std::strncmp(proto, "HTTP/", 5) == 0) {
    return (proto[5] - '0') * 1000 + (proto[7] - '0');
  }
  return 1000;
}

bool ExtensionAllowed(std::string_view path) {
  const auto& allowed = Options().limit_extensions;
  if (allowed.empty()) return true;
  for (const auto& ext : allowed) {
    if (path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext) return true;
  }
  return false;
}

}  // namespace

void FillRequestInfo(fastcgi::Exchange& ex) {
  sapi_request_info& ri = SG(request_info);
  ri.request_method = ParamOrNull(ex, "REQUEST_METHOD");
  ri.query_string = ParamOrNull(ex, "QUERY_STRING");
  ri.request_uri = ParamOrNull(ex, "SCRIPT_NAME");
  ri.content_type = ParamOrNull(ex, "CONTENT_TYPE");
  ri.cookie_data = ParamOrNull(ex, "HTTP_COOKIE");
  const char* length = ParamOrNull(ex, "CONTENT_LENGTH");
  ri.content_length = length ? ZEND_ATOL(length) : 0;
  ri.proto_num = ProtocolNumber(ParamOrNull(ex, "SERVER_PROTOCOL"));
  ri.path_translated = ParamOrNull(ex, "SCRIPT_FILENAME");
  ri.headers_only = ri.request_method && std::strcmp(ri.request_method, "HEAD") == 0;
  php_handle_auth_data(ParamOrNull(ex, "HTTP_AUTHORIZATION"));
  SG(sapi_headers).http_response_code = 200;
}

void ArmInputDeadline(fastcgi::Exchange& ex) {
  if (PG(max_input_time) <= 0) return;
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  ex.SetInputDeadline(static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000 +
                      static_cast<int64_t>(PG(max_input_time)) * 1000000);
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
  ctx->exchange->WriteStderr("tfpm: request body not received within max_input_time");
  return true;
}

namespace {

// Everything between request startup and shutdown. Only trivially
// destructible locals: PHP may longjmp out of here.
void RunScript(fastcgi::Exchange& ex, RequestOutcome* outcome) {
  if (AnswerInputTimeout(CurrentRequest())) return;  // body read during startup timed out
  const char* script = SG(request_info).path_translated;
  if (script == nullptr || *script == '\0') {
    ex.WriteStderr("Primary script unknown");
    SG(sapi_headers).http_response_code = 404;
    PUTS("File not found.\n");
    return;
  }
  if (!ExtensionAllowed(script)) {
    log::Warning("Access to the script '{}' has been denied (see limit_extensions)", script);
    ex.WriteStderr("Access to the script has been denied (see limit_extensions)");
    SG(sapi_headers).http_response_code = 403;
    PUTS("Access denied.\n");
    return;
  }
  if (::access(script, R_OK) != 0) {
    const int err = errno;
    if (err == EACCES) {
      SG(sapi_headers).http_response_code = 403;
      PUTS("Access denied.\n");
    } else {
      ex.WriteStderr("Primary script unknown");
      SG(sapi_headers).http_response_code = 404;
      PUTS("File not found.\n");
    }
    return;
  }
  zend_file_handle file_handle;
  zend_stream_init_filename(&file_handle, script);
  EG(exit_status) = 0;
  php_execute_script(&file_handle);
  zend_destroy_file_handle(&file_handle);
  (void)outcome;
}

}  // namespace

RequestOutcome ExecuteRequest(fastcgi::Exchange& exchange) {
  RequestOutcome outcome;
  RequestContext ctx;
  ctx.exchange = &exchange;
  SG(server_context) = &ctx;
  FillRequestInfo(exchange);
  ArmInputDeadline(exchange);
  BeginTrackedRequest(exchange.socket_fd());

  bool started = false;
  zend_first_try {
    if (php_request_startup() == SUCCESS) {
      started = true;
      RunScript(exchange, &outcome);
    } else {
      log::Error("php_request_startup() failed");
    }
  }
  zend_catch { outcome.bailout = true; }
  zend_end_try();

  if (started) {
    outcome.http_status = SG(sapi_headers).http_response_code;
    outcome.memory_peak = zend_memory_peak_usage(true);
    php_request_shutdown(nullptr);
  } else {
    exchange.WriteStdout("Status: 500 Internal Server Error\r\nContent-type: text/plain\r\n\r\n");
    outcome.http_status = 500;
  }
  outcome.aborted = exchange.aborted();
  exchange.Finish(0);
  EndTrackedRequest();
  SG(server_context) = nullptr;
  return outcome;
}

}  // namespace tfpm::sapi
