// What worker mode resets between two requests of a worker script
// (declared in php_worker_state.h; which state persists and which is reset
// is listed in docs/worker-mode.md).
#include "sapi/php_worker_state.h"

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

extern "C" {
#include <Zend/zend_virtual_cwd.h>
#include <ext/session/php_session.h>
#include <ext/spl/spl_exceptions.h>
#include <main/php_output.h>
}

namespace tfpm::sapi::worker_internal {
namespace {

std::optional<std::string> IniValueOf(const zend_ini_entry* e) {
  if (e->value == nullptr) return std::nullopt;
  return std::string(ZSTR_VAL(e->value), ZSTR_LEN(e->value));
}

bool IsBootKey(const WorkerState* w, const zend_string* name) {
  for (const auto& [key, value] : w->boot_ini) {
    if (key.size() == ZSTR_LEN(name) && std::memcmp(key.data(), ZSTR_VAL(name), key.size()) == 0) return true;
  }
  return false;
}

}  // namespace

// INI entries the boot changed (ini_set in the script's bootstrap) and the
// boot cwd: the state every request starts from.
void TakeBootSnapshot(WorkerState* w) {
  w->snapshot_taken = true;
  if (EG(modified_ini_directives)) {
    void* p;
    ZEND_HASH_MAP_FOREACH_PTR(EG(modified_ini_directives), p) {
      auto* e = static_cast<zend_ini_entry*>(p);
      w->boot_ini.emplace_back(std::string(ZSTR_VAL(e->name), ZSTR_LEN(e->name)), IniValueOf(e));
    }
    ZEND_HASH_FOREACH_END();
  }
  char buf[MAXPATHLEN];
  if (VCWD_GETCWD(buf, sizeof(buf))) w->boot_cwd = buf;
}

// ini_set()/set_time_limit() of the request are undone: entries the request
// modified go back to their startup value, entries the boot had set go
// back to the boot's value.
void RestoreIni(const WorkerState* w) {
  thread_local std::vector<std::string> restore;
  restore.clear();
  if (EG(modified_ini_directives)) {
    void* p;
    ZEND_HASH_MAP_FOREACH_PTR(EG(modified_ini_directives), p) {
      auto* e = static_cast<zend_ini_entry*>(p);
      if (!IsBootKey(w, e->name)) restore.emplace_back(ZSTR_VAL(e->name), ZSTR_LEN(e->name));
    }
    ZEND_HASH_FOREACH_END();
  }
  for (const auto& key : restore) {
    zend_string* name = zend_string_init(key.data(), key.size(), 0);
    zend_restore_ini_entry(name, ZEND_INI_STAGE_RUNTIME);
    zend_string_release(name);
  }
  for (const auto& [key, value] : w->boot_ini) {
    auto* e = static_cast<zend_ini_entry*>(zend_hash_str_find_ptr(EG(ini_directives), key.data(), key.size()));
    if (e == nullptr || IniValueOf(e) == value) continue;
    zend_string* name = zend_string_init(key.data(), key.size(), 0);
    if (value) {
      zend_alter_ini_entry_chars_ex(name, value->data(), value->size(), ZEND_INI_SYSTEM,
                                    ZEND_INI_STAGE_RUNTIME, 1);
    }
    zend_string_release(name);
  }
}

void ClearLastError() {
  if (PG(last_error_message)) {
    zend_string_release(PG(last_error_message));
    PG(last_error_message) = nullptr;
  }
  if (PG(last_error_file)) {
    zend_string_release(PG(last_error_file));
    PG(last_error_file) = nullptr;
  }
  PG(last_error_type) = 0;
  PG(last_error_lineno) = 0;
}

// Modules whose request state must follow each request (filter_input()
// reads what filter's RINIT captured).
constexpr const char* kReloadModules[] = {"filter"};

void ReloadModules(bool startup) {
  for (const char* name : kReloadModules) {
    auto* m = static_cast<zend_module_entry*>(zend_hash_str_find_ptr(&module_registry, name, std::strlen(name)));
    if (m == nullptr) continue;
    if (startup && m->request_startup_func) m->request_startup_func(m->type, m->module_number);
    if (!startup && m->request_shutdown_func) m->request_shutdown_func(m->type, m->module_number);
  }
}

// $_GET, $_POST, $_COOKIE, $_FILES, $_SERVER (and $_REQUEST when the script
// uses it) from the new request; $_ENV stays; $_SESSION is removed.
void ResetSuperglobals() {
  zend_try {
    zval* files = &PG(http_globals)[TRACK_VARS_FILES];
    zval_ptr_dtor_nogc(files);
    ZVAL_UNDEF(files);
    zend_hash_str_del(&EG(symbol_table), "_SESSION", sizeof("_SESSION") - 1);
  }
  zend_end_try();
  zend_string* env = ZSTR_KNOWN(ZEND_STR_AUTOGLOBAL_ENV);
  zend_string* server = ZSTR_KNOWN(ZEND_STR_AUTOGLOBAL_SERVER);
  zend_string* request = ZSTR_KNOWN(ZEND_STR_AUTOGLOBAL_REQUEST);
  void* p;
  ZEND_HASH_MAP_FOREACH_PTR(CG(auto_globals), p) {
    auto* g = static_cast<zend_auto_global*>(p);
    if (zend_string_equals(g->name, env)) continue;
    if (zend_string_equals(g->name, server)) {
      g->armed = g->auto_global_callback(g->name);
    } else if (g->jit) {
      // $GLOBALS belongs to the script; $_REQUEST is rebuilt if it was used.
      if (zend_string_equals(g->name, request) && zend_hash_exists(&EG(symbol_table), g->name)) {
        g->armed = g->auto_global_callback(g->name);
      }
    } else if (g->auto_global_callback) {
      g->armed = g->auto_global_callback(g->name);
    } else {
      g->armed = false;
    }
  }
  ZEND_HASH_FOREACH_END();
}

// The session of one request never reaches the next: data, id and status
// are dropped (written first if still active); the save handler the boot
// registered stays.
void ResetSession() {
  if (PS(session_status) == php_session_active) php_session_flush(1);
  if (!Z_ISUNDEF(PS(http_session_vars))) {
    zval_ptr_dtor(&PS(http_session_vars));
    ZVAL_UNDEF(&PS(http_session_vars));
  }
  if (PS(mod_data) || PS(mod_user_implemented)) {
    zend_try { PS(mod)->s_close(&PS(mod_data)); }
    zend_end_try();
  }
  if (PS(id)) {
    zend_string_release_ex(PS(id), 0);
    PS(id) = nullptr;
  }
  if (PS(session_vars)) {
    zend_string_release_ex(PS(session_vars), 0);
    PS(session_vars) = nullptr;
  }
  if (PS(session_started_filename)) {
    zend_string_release(PS(session_started_filename));
    PS(session_started_filename) = nullptr;
    PS(session_started_lineno) = 0;
  }
  PS(session_status) = php_session_none;
  PS(in_save_handler) = 0;
  PS(set_handler) = 0;
  PS(mod_data) = nullptr;
  PS(mod_user_is_open) = 0;
  PS(define_sid) = 1;
}

}  // namespace tfpm::sapi::worker_internal
