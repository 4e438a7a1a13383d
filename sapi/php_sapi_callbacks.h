// The SAPI module's request-facing callbacks (php_sapi_callbacks.cc):
// output, input, $_SERVER and $_ENV, PHP's log messages. Internal to
// sapi/php_sapi*.cc, which puts them in the module table. Each reads the
// request from SG(server_context) (CurrentRequest()) and is noexcept: PHP
// may longjmp through any of them (see php_sapi.cc).
#pragma once

#include <cstddef>

#include "sapi/php_internal.h"

namespace tfpm::sapi::callbacks {

size_t UbWrite(const char* str, size_t len) noexcept;
void Flush(void* server_context) noexcept;
int SendHeaders(sapi_headers_struct* headers) noexcept;
size_t ReadPost(char* buffer, size_t count) noexcept;
char* ReadCookies() noexcept;
char* GetEnv(const char* name, size_t name_len) noexcept;
void RegisterServerVariables(zval* array) noexcept;
void LogMessage(const char* message, int syslog_type) noexcept;
// php_import_environment_variables / php_load_environment_variables.
void ImportEnvironment(zval* array) noexcept;
void LoadEnvironment(zval* array) noexcept;

// PHP's own php_import_environment_variables, which ImportEnvironment
// calls; set once by PhpRuntime::Startup before any thread.
extern void (*g_original_import_environment)(zval*);
// `tfpm -i`: output outside a FastCGI request goes to stdout (main
// thread only, set around PhpRuntime::PrintInfo).
extern bool g_print_to_stdout;

}  // namespace tfpm::sapi::callbacks
