// php-fpm's status page (pm.status_path) and fpm_get_status(): the PHP glue.
// The pool's status comes from the supervisor (ipc/pool_status.h, fetched
// through Options().pool_status); the page itself is rendered without PHP by
// status/render.h. Here: reading $_GET, setting the response code and
// headers, writing the body, and building fpm_get_status()'s array.
#include <time.h>

#include <string>
#include <string_view>

#include "base/log.h"
#include "ipc/pool_status.h"
#include "sapi/php_internal.h"
#include "status/render.h"

namespace tfpm::sapi {
namespace {

bool HasGetKey(std::string_view key) {
  zval* get = &PG(http_globals)[TRACK_VARS_GET];
  return Z_TYPE_P(get) == IS_ARRAY && zend_hash_str_exists(Z_ARRVAL_P(get), key.data(), key.size());
}

void AddHeader(std::string_view line) { sapi_add_header_ex(line.data(), line.size(), 1, 1); }

// The pool's status from the supervisor; an error (logged) if it cannot be
// had or does not read as ipc::PoolStatus.
Result<ipc::PoolStatus> FetchStatus(bool full) {
  const auto& fetch = Options().pool_status;
  const std::string text = fetch ? fetch(full) : std::string();
  if (text.empty()) {
    log::Error("status: unable to get the pool's status from the supervisor");
    return Status::IoError("no status from the supervisor");
  }
  Result<ipc::PoolStatus> st = ipc::FromJsonText(text);
  if (!st.ok()) log::Error("status: {}", st.status().message());
  return st;
}

int64_t NowEpoch() { return static_cast<int64_t>(::time(nullptr)); }

std::string Dash(std::string s) { return s.empty() ? "-" : s; }

}  // namespace

bool AnswerStatusPage() {
  const std::string& path = Options().status_path;
  if (path.empty() || SG(request_info).request_uri == nullptr || path != SG(request_info).request_uri) return false;
  // The page is built in plain C++ memory first and written to PHP's output
  // once every C++ object is gone: PHP may longjmp out of a write (an
  // aborted client), which must not skip a destructor.
  zend_string* body;
  {
    const status::Query q = status::QueryFromKeys(HasGetKey);
    const Result<ipc::PoolStatus> st = FetchStatus(q.full);
    const status::Page page = st.ok() ? status::Render(st.value(), q, NowEpoch(), SG(request_info).headers_only)
                                      : status::InternalError();
    SG(sapi_headers).http_response_code = page.status;
    for (const std::string& h : page.headers) AddHeader(h);
    body = zend_string_init(page.body.data(), page.body.size(), 0);
  }
  PHPWRITE(ZSTR_VAL(body), ZSTR_LEN(body));
  zend_string_release(body);
  return true;
}

namespace {

void FillStatusArray(zval* out, const ipc::PoolStatus& st) {
  const int64_t now = NowEpoch();
  auto lng = [](uint64_t v) { return static_cast<zend_long>(v); };
  array_init(out);
  add_assoc_string(out, "pool", st.pool.c_str());
  add_assoc_string(out, "process-manager", st.process_manager.c_str());
  add_assoc_long(out, "start-time", st.start_time);
  add_assoc_long(out, "start-since", now - st.start_time);
  add_assoc_long(out, "accepted-conn", lng(st.accepted_conn));
  add_assoc_long(out, "listen-queue", lng(st.listen_queue));
  add_assoc_long(out, "max-listen-queue", lng(st.max_listen_queue));
  add_assoc_long(out, "listen-queue-len", lng(st.listen_queue_len));
  add_assoc_long(out, "idle-processes", lng(st.idle_processes));
  add_assoc_long(out, "active-processes", lng(st.active_processes));
  add_assoc_long(out, "total-processes", lng(st.idle_processes) + lng(st.active_processes));
  add_assoc_long(out, "max-active-processes", lng(st.max_active_processes));
  add_assoc_long(out, "max-children-reached", lng(st.max_children_reached));
  add_assoc_long(out, "slow-requests", lng(st.slow_requests));
  add_assoc_long(out, "memory-peak", lng(st.memory_peak));
  add_assoc_long(out, "terminated-requests", lng(st.terminated_requests));
  add_assoc_long(out, "rejected-requests", lng(st.rejected_requests));
  add_assoc_long(out, "process-recycles-max-requests", lng(st.process_recycles_max_requests));
  add_assoc_long(out, "process-recycles-memory", lng(st.process_recycles_memory));
  add_assoc_long(out, "memory-recycles", lng(st.memory_recycles));
  add_assoc_long(out, "idle-trims", lng(st.idle_trims));
  zval procs;
  array_init(&procs);
  for (const ipc::ThreadRow& r : st.processes) {
    zval p;
    array_init(&p);
    add_assoc_long(&p, "pid", static_cast<zend_long>(r.pid));
    add_assoc_string(&p, "state", r.state.c_str());
    add_assoc_long(&p, "start-time", r.start_time);
    add_assoc_long(&p, "start-since", now - r.start_time);
    add_assoc_long(&p, "requests", lng(r.requests));
    add_assoc_long(&p, "request-duration", r.request_duration);
    add_assoc_string(&p, "request-method", Dash(r.request_method).c_str());
    add_assoc_string(&p, "request-uri", r.request_uri.c_str());
    add_assoc_string(&p, "query-string", r.query_string.c_str());
    add_assoc_long(&p, "request-length", lng(r.content_length));
    add_assoc_string(&p, "user", Dash(r.user).c_str());
    add_assoc_string(&p, "script", Dash(r.script).c_str());
    add_assoc_double(&p, "last-request-cpu", r.last_request_cpu);
    add_assoc_long(&p, "last-request-memory", lng(r.last_request_memory));
    add_assoc_long(&p, "process-start-time", r.process_start_time);
    add_assoc_long(&p, "process-requests", lng(r.process_requests));
    add_next_index_zval(&procs, &p);
  }
  add_assoc_zval(out, "procs", &procs);
}

}  // namespace

// fpm_get_status(): php-fpm's fpm_status_export_to_zval(). The array is
// built in Zend memory; the status is a C++ object, so a bailout while
// building (memory_limit) is caught here and raised again after it is
// destroyed.
bool ExportStatus(zval* out) {
  volatile bool ok = false;
  volatile bool bailout = false;
  {
    const Result<ipc::PoolStatus> st = FetchStatus(true);
    if (st.ok()) {
      zend_try {
        FillStatusArray(out, st.value());
        ok = true;
      }
      zend_catch { bailout = true; }
      zend_end_try();
    }
  }
  if (bailout) zend_bailout();
  return ok;
}

}  // namespace tfpm::sapi
