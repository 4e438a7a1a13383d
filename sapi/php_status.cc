// php-fpm's status page (pm.status_path) and fpm_get_status(), rendered
// from the pool status the supervisor computes (supervisor/pool_status.h)
// exactly as php-fpm's fpm_status.c prints its scoreboard: the same formats
// (text, ?json, ?xml, ?html, ?openmetrics, each with ?full), field names,
// headers and escaping, so existing FPM monitoring parses it. Differences
// (user and script escaped in JSON/XML/HTML; one row per PHP thread) are in
// docs/fpm-differences.md.
#include <time.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>

#include "base/log.h"
#include "sapi/php_internal.h"
#include "scoreboard/request_metrics.h"
#include "scoreboard/scoreboard.h"

extern "C" {
#include <ext/json/php_json.h>
#include <ext/standard/html.h>
}

namespace tfpm::sapi {
namespace {

using Json = nlohmann::json;

enum class Format { kText, kHtml, kXml, kJson, kOpenMetrics };

bool HasGetKey(std::string_view key) {
  zval* get = &PG(http_globals)[TRACK_VARS_GET];
  return Z_TYPE_P(get) == IS_ARRAY && zend_hash_str_exists(Z_ARRVAL_P(get), key.data(), key.size());
}

void AddHeader(std::string_view line) { sapi_add_header_ex(line.data(), line.size(), 1, 1); }

// The page is rendered into plain C++ memory first and written to PHP's
// output once every C++ object is gone: PHP may longjmp out of a write
// (an aborted client), which must not skip a destructor.
thread_local std::string* t_page = nullptr;
void Put(std::string_view s) { t_page->append(s); }

std::string Html(std::string_view s) {
  zend_string* e = php_escape_html_entities_ex(reinterpret_cast<const unsigned char*>(s.data()), s.size(), 1,
                                               ENT_DISALLOWED | ENT_HTML_DOC_XML1 | ENT_COMPAT, nullptr, 1, 0);
  std::string out(ZSTR_VAL(e), ZSTR_LEN(e));
  zend_string_free(e);
  return out;
}

// php_json_encode_string() without the surrounding quotes.
std::string JsonString(std::string_view s, int options) {
  zend_string* e = php_json_encode_string(s.data(), s.size(), options);
  std::string out(ZSTR_VAL(e), ZSTR_LEN(e));
  zend_string_free(e);
  return out.size() >= 2 ? out.substr(1, out.size() - 2) : out;
}

// php-fpm escapes the request URI and query string (HTML entities for HTML
// and XML, json_encode for JSON) but prints user and script raw; we escape
// those too, so the output always parses — in a way that leaves the usual
// paths and names unchanged (no escaped slashes or Unicode in JSON).
std::string EscapeUri(Format f, std::string_view s) {
  switch (f) {
    case Format::kHtml:
    case Format::kXml: return Html(s);
    case Format::kJson: return JsonString(s, PHP_JSON_INVALID_UTF8_IGNORE);
    default: return std::string(s);
  }
}
std::string EscapeOther(Format f, std::string_view s) {
  switch (f) {
    case Format::kHtml:
    case Format::kXml: return Html(s);
    case Format::kJson:
      return JsonString(s, PHP_JSON_INVALID_UTF8_IGNORE | PHP_JSON_UNESCAPED_SLASHES | PHP_JSON_UNESCAPED_UNICODE);
    default: return std::string(s);
  }
}

std::string FormatTime(int64_t epoch, bool human) {
  if (!human) return std::to_string(epoch);
  const time_t t = static_cast<time_t>(epoch);
  tm local;
  localtime_r(&t, &local);
  char buf[64];
  const size_t n = strftime(buf, sizeof(buf) - 1, "%d/%b/%Y:%H:%M:%S %z", &local);
  return std::string(buf, n);
}

// printf-style formatting into a std::string (the formats are php-fpm's).
template <typename... A>
std::string Printf(const char* fmt, A... args) {
  const int n = snprintf(nullptr, 0, fmt, args...);
  std::string out(static_cast<size_t>(n), '\0');
  snprintf(out.data(), out.size() + 1, fmt, args...);
  return out;
}

uint64_t U(const Json& j, const char* key) { return j.value(key, uint64_t{0}); }
std::string S(const Json& j, const char* key) { return j.value(key, std::string()); }
std::string Dash(std::string s) { return s.empty() ? "-" : s; }

// One counter of ours, after php-fpm's fields, in each format's own
// spelling.
void RenderCounter(Format f, std::string_view key, std::string_view label, std::string_view help, unsigned long n) {
  std::string dashed(label);
  for (char& c : dashed) c = c == ' ' ? '-' : c;
  const std::string k(key), l(label), h(help);
  switch (f) {
    case Format::kText: {
      std::string head = l + ":";
      head.resize(std::max<size_t>(22, head.size() + 1), ' ');
      Put(Printf("%s%lu\n", head.c_str(), n));
      break;
    }
    case Format::kHtml: Put(Printf("<tr><th>%s</th><td>%lu</td></tr>\n", l.c_str(), n)); break;
    case Format::kXml: Put(Printf("<%s>%lu</%s>\n", dashed.c_str(), n, dashed.c_str())); break;
    case Format::kJson: Put(Printf(",\"%s\":%lu", l.c_str(), n)); break;
    case Format::kOpenMetrics:
      Put(Printf("# HELP tfpm_%s %s: %s.\n"
                 "# TYPE tfpm_%s counter\n"
                 "tfpm_%s %lu\n",
                 k.c_str(), h.c_str(), l.c_str(), k.c_str(), k.c_str(), n));
      break;
  }
}

// The connection limits' counters (docs/security.md), then the restarts
// by cause (base/restart_cause.h) and worker mode's leak_check count, after
// php-fpm's fields and ours above.
void RenderLimits(Format f, const Json& st) {
  for (const auto& [key, label] : scoreboard::kLimitNames) {
    RenderCounter(f, key, label, "Connections a limit of docs/security.md acted on",
                  U(st, std::string(key).c_str()));
  }
  for (const auto& [key, label] : base::kRestartCauseNames) {
    const std::string k = "restarts_" + std::string(key);
    RenderCounter(f, k, label, "PHP interpreter (worker script) restarts by cause", U(st, k.c_str()));
  }
  RenderCounter(f, "state_leaks", "state leaks", "Worker mode leak_check: state items a request left changed",
                U(st, "state_leaks"));
}

// Process recycling's counters (docs/config.md "Recycling"), after the
// limits, in each format's own spelling.
void RenderRecycles(Format f, const Json& st) {
  struct Counter {
    const char* key;
    const char* label;
    const char* help;
  };
  static constexpr Counter kCounters[] = {
      {"process_recycles_max_requests", "process recycles max requests",
       "Processes replaced after process_max_requests."},
      {"process_recycles_memory", "process recycles memory", "Processes replaced over process_memory_limit."},
      {"memory_recycles", "memory recycles", "Thread interpreters recycled over memory_recycle."},
  };
  for (const Counter& c : kCounters) {
    const unsigned long n = U(st, c.key);
    std::string dashed(c.label);
    for (char& ch : dashed) ch = ch == ' ' ? '-' : ch;
    switch (f) {
      case Format::kText: {
        std::string head = std::string(c.label) + ":";
        head.resize(std::max<size_t>(22, head.size() + 1), ' ');
        Put(Printf("%s%lu\n", head.c_str(), n));
        break;
      }
      case Format::kHtml: Put(Printf("<tr><th>%s</th><td>%lu</td></tr>\n", c.label, n)); break;
      case Format::kXml: Put(Printf("<%s>%lu</%s>\n", dashed.c_str(), n, dashed.c_str())); break;
      case Format::kJson: Put(Printf(",\"%s\":%lu", c.label, n)); break;
      case Format::kOpenMetrics:
        Put(Printf("# HELP tfpm_%s %s\n# TYPE tfpm_%s counter\ntfpm_%s %lu\n", c.key, c.help, c.key, c.key, n));
        break;
    }
  }
}

void RenderSummary(Format f, const Json& st, int64_t now) {
  const std::string pool = S(st, "pool"), pm = S(st, "process_manager");
  const int64_t start = st.value("start_time", int64_t{0});
  const unsigned long since = static_cast<unsigned long>(now - start);
  const unsigned long accepted = U(st, "accepted_conn"), slow = U(st, "slow_requests");
  const int lq = static_cast<int>(U(st, "listen_queue")), lq_max = static_cast<int>(U(st, "max_listen_queue"));
  const unsigned lq_len = static_cast<unsigned>(U(st, "listen_queue_len"));
  const int idle = static_cast<int>(U(st, "idle_processes")), active = static_cast<int>(U(st, "active_processes"));
  const int active_max = static_cast<int>(U(st, "max_active_processes"));
  const unsigned reached = static_cast<unsigned>(U(st, "max_children_reached"));
  const size_t peak = U(st, "memory_peak");
  // tfpm's own counters, after php-fpm's fields: requests ended by
  // request_terminate_timeout and answered 503 by max_wait_time.
  const unsigned long terminated = U(st, "terminated_requests"), rejected = U(st, "rejected_requests");
  const char* p = pool.c_str();
  const char* m = pm.c_str();
  switch (f) {
    case Format::kText:
      Put(Printf("pool:                 %s\n"
                 "process manager:      %s\n"
                 "start time:           %s\n"
                 "start since:          %lu\n"
                 "accepted conn:        %lu\n"
                 "listen queue:         %d\n"
                 "max listen queue:     %d\n"
                 "listen queue len:     %u\n"
                 "idle processes:       %d\n"
                 "active processes:     %d\n"
                 "total processes:      %d\n"
                 "max active processes: %d\n"
                 "max children reached: %u\n"
                 "slow requests:        %lu\n"
                 "memory peak:          %zu\n"
                 "terminated requests:  %lu\n"
                 "rejected requests:    %lu\n",
                 p, m, FormatTime(start, true).c_str(), since, accepted, lq, lq_max, lq_len, idle, active,
                 idle + active, active_max, reached, slow, peak, terminated, rejected));
      RenderLimits(f, st);
      RenderRecycles(f, st);
      break;
    case Format::kHtml:
      Put(Printf("<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
                 "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n"
                 "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
                 "<head><title>PHP-FPM Status Page</title></head>\n"
                 "<body>\n"
                 "<table>\n"
                 "<tr><th>pool</th><td>%s</td></tr>\n"
                 "<tr><th>process manager</th><td>%s</td></tr>\n"
                 "<tr><th>start time</th><td>%s</td></tr>\n"
                 "<tr><th>start since</th><td>%lu</td></tr>\n"
                 "<tr><th>accepted conn</th><td>%lu</td></tr>\n"
                 "<tr><th>listen queue</th><td>%d</td></tr>\n"
                 "<tr><th>max listen queue</th><td>%d</td></tr>\n"
                 "<tr><th>listen queue len</th><td>%u</td></tr>\n"
                 "<tr><th>idle processes</th><td>%d</td></tr>\n"
                 "<tr><th>active processes</th><td>%d</td></tr>\n"
                 "<tr><th>total processes</th><td>%d</td></tr>\n"
                 "<tr><th>max active processes</th><td>%d</td></tr>\n"
                 "<tr><th>max children reached</th><td>%u</td></tr>\n"
                 "<tr><th>slow requests</th><td>%lu</td></tr>\n"
                 "<tr><th>memory peak</th><td>%zu</td></tr>\n"
                 "<tr><th>terminated requests</th><td>%lu</td></tr>\n"
                 "<tr><th>rejected requests</th><td>%lu</td></tr>\n",
                 p, m, FormatTime(start, true).c_str(), since, accepted, lq, lq_max, lq_len, idle, active,
                 idle + active, active_max, reached, slow, peak, terminated, rejected));
      RenderLimits(f, st);
      RenderRecycles(f, st);
      Put("</table>\n");
      break;
    case Format::kXml:
      Put(Printf("<?xml version=\"1.0\" ?>\n"
                 "<status>\n"
                 "<pool>%s</pool>\n"
                 "<process-manager>%s</process-manager>\n"
                 "<start-time>%s</start-time>\n"
                 "<start-since>%lu</start-since>\n"
                 "<accepted-conn>%lu</accepted-conn>\n"
                 "<listen-queue>%d</listen-queue>\n"
                 "<max-listen-queue>%d</max-listen-queue>\n"
                 "<listen-queue-len>%u</listen-queue-len>\n"
                 "<idle-processes>%d</idle-processes>\n"
                 "<active-processes>%d</active-processes>\n"
                 "<total-processes>%d</total-processes>\n"
                 "<max-active-processes>%d</max-active-processes>\n"
                 "<max-children-reached>%u</max-children-reached>\n"
                 "<slow-requests>%lu</slow-requests>\n"
                 "<memory-peak>%zu</memory-peak>\n"
                 "<terminated-requests>%lu</terminated-requests>\n"
                 "<rejected-requests>%lu</rejected-requests>\n",
                 p, m, FormatTime(start, false).c_str(), since, accepted, lq, lq_max, lq_len, idle, active,
                 idle + active, active_max, reached, slow, peak, terminated, rejected));
      RenderLimits(f, st);
      RenderRecycles(f, st);
      break;
    case Format::kJson:
      Put(Printf("{"
                 "\"pool\":\"%s\","
                 "\"process manager\":\"%s\","
                 "\"start time\":%s,"
                 "\"start since\":%lu,"
                 "\"accepted conn\":%lu,"
                 "\"listen queue\":%d,"
                 "\"max listen queue\":%d,"
                 "\"listen queue len\":%u,"
                 "\"idle processes\":%d,"
                 "\"active processes\":%d,"
                 "\"total processes\":%d,"
                 "\"max active processes\":%d,"
                 "\"max children reached\":%u,"
                 "\"slow requests\":%lu,"
                 "\"memory peak\":%zu,"
                 "\"terminated requests\":%lu,"
                 "\"rejected requests\":%lu",
                 p, m, FormatTime(start, false).c_str(), since, accepted, lq, lq_max, lq_len, idle, active,
                 idle + active, active_max, reached, slow, peak, terminated, rejected));
      RenderLimits(f, st);
      RenderRecycles(f, st);
      break;
    case Format::kOpenMetrics:
      Put(Printf("# HELP phpfpm_up Could pool %s using a %s PM on PHP-FPM be reached?\n"
                 "# TYPE phpfpm_up gauge\n"
                 "phpfpm_up 1\n"
                 "# HELP phpfpm_start_since The number of seconds since FPM has started.\n"
                 "# TYPE phpfpm_start_since counter\n"
                 "phpfpm_start_since %lu\n"
                 "# HELP phpfpm_accepted_connections The number of requests accepted by the pool.\n"
                 "# TYPE phpfpm_accepted_connections counter\n"
                 "phpfpm_accepted_connections %lu\n"
                 "# HELP phpfpm_listen_queue The number of requests in the queue of pending connections.\n"
                 "# TYPE phpfpm_listen_queue gauge\n"
                 "phpfpm_listen_queue %d\n"
                 "# HELP phpfpm_max_listen_queue The maximum number of requests in the queue of pending "
                 "connections since FPM has started.\n"
                 "# TYPE phpfpm_max_listen_queue counter\n"
                 "phpfpm_max_listen_queue %d\n"
                 "# TYPE phpfpm_listen_queue_length gauge\n"
                 "# HELP phpfpm_listen_queue_length The size of the socket queue of pending connections.\n"
                 "phpfpm_listen_queue_length %u\n"
                 "# HELP phpfpm_idle_processes The number of idle processes.\n"
                 "# TYPE phpfpm_idle_processes gauge\n"
                 "phpfpm_idle_processes %d\n"
                 "# HELP phpfpm_active_processes The number of active processes.\n"
                 "# TYPE phpfpm_active_processes gauge\n"
                 "phpfpm_active_processes %d\n"
                 "# HELP phpfpm_total_processes The number of idle + active processes.\n"
                 "# TYPE phpfpm_total_processes gauge\n"
                 "phpfpm_total_processes %d\n"
                 "# HELP phpfpm_max_active_processes The maximum number of active processes since FPM has "
                 "started.\n"
                 "# TYPE phpfpm_max_active_processes counter\n"
                 "phpfpm_max_active_processes %d\n"
                 "# HELP phpfpm_max_children_reached The number of times, the process limit has been reached, "
                 "when pm tries to start more children (works only for pm 'dynamic' and 'ondemand').\n"
                 "# TYPE phpfpm_max_children_reached counter\n"
                 "phpfpm_max_children_reached %u\n"
                 "# HELP phpfpm_slow_requests The number of requests that exceeded your "
                 "'request_slowlog_timeout' value.\n"
                 "# TYPE phpfpm_slow_requests counter\n"
                 "phpfpm_slow_requests %lu\n"
                 "# HELP phpfpm_memory_peak The memory usage peak since FPM has started.\n"
                 "# TYPE phpfpm_memory_peak gauge\n"
                 "phpfpm_memory_peak %zu\n"
                 "# HELP tfpm_terminated_requests The number of requests ended by request_terminate_timeout.\n"
                 "# TYPE tfpm_terminated_requests counter\n"
                 "tfpm_terminated_requests %lu\n"
                 "# HELP tfpm_rejected_requests The number of requests answered 503 after waiting max_wait_time "
                 "for a thread.\n"
                 "# TYPE tfpm_rejected_requests counter\n"
                 "tfpm_rejected_requests %lu\n",
                 p, m, since, accepted, lq, lq_max, lq_len, idle, active, idle + active, active_max, reached, slow,
                 peak, terminated, rejected));
      RenderLimits(f, st);
      RenderRecycles(f, st);
      Put(scoreboard::RenderRequestMetrics(st));  // histograms, requests by status class
      Put("# EOF\n");
      break;
  }
}

void RenderRow(Format f, const Json& r, int64_t now) {
  const int64_t start = r.value("start_time", int64_t{0});
  const std::string uri = S(r, "request_uri"), query = S(r, "query_string");
  const std::string uri_out = uri.empty() ? "-" : EscapeUri(f, uri);
  const std::string query_out = query.empty() ? "" : EscapeUri(f, query);
  const std::string user = S(r, "user"), script = S(r, "script");
  const std::string user_out = user.empty() ? "-" : EscapeOther(f, user);
  const std::string script_out = script.empty() ? "-" : EscapeOther(f, script);
  const std::string method = Dash(S(r, "request_method"));
  const std::string state = S(r, "state");
  const int pid = r.value("pid", 0);
  const std::string time = FormatTime(start, f == Format::kText || f == Format::kHtml);
  const unsigned long since = static_cast<unsigned long>(now - start);
  const unsigned long requests = U(r, "requests"), duration = U(r, "request_duration");
  const size_t length = U(r, "content_length"), memory = U(r, "last_request_memory");
  const double cpu = r.value("last_request_cpu", 0.0);
  // After php-fpm's fields: the process's own start time and its requests
  // in all threads (a row's "start time" and "requests" are its thread's
  // interpreter's), so process recycling is visible.
  const int64_t pstart = r.value("process_start_time", int64_t{0});
  const std::string ptime = FormatTime(pstart, f == Format::kText || f == Format::kHtml);
  const unsigned long prequests = U(r, "process_requests");
  const char* q = query.empty() ? "" : "?";
  const char* fmt = nullptr;
  switch (f) {
    case Format::kText:
      fmt = "\n"
            "************************\n"
            "pid:                  %d\n"
            "state:                %s\n"
            "start time:           %s\n"
            "start since:          %lu\n"
            "requests:             %lu\n"
            "request duration:     %lu\n"
            "request method:       %s\n"
            "request URI:          %s%s%s\n"
            "content length:       %zu\n"
            "user:                 %s\n"
            "script:               %s\n"
            "last request cpu:     %.2f\n"
            "last request memory:  %zu\n"
            "process start time:   %s\n"
            "process requests:     %lu\n";
      break;
    case Format::kHtml:
      fmt = "<tr><td>%d</td><td>%s</td><td>%s</td><td>%lu</td><td>%lu</td><td>%lu</td><td>%s</td>"
            "<td>%s%s%s</td><td>%zu</td><td>%s</td><td>%s</td><td>%.2f</td><td>%zu</td><td>%s</td><td>%lu</td></tr>\n";
      break;
    case Format::kXml:
      fmt = "<process><pid>%d</pid><state>%s</state><start-time>%s</start-time><start-since>%lu</start-since>"
            "<requests>%lu</requests><request-duration>%lu</request-duration><request-method>%s</request-method>"
            "<request-uri>%s%s%s</request-uri><content-length>%zu</content-length><user>%s</user>"
            "<script>%s</script><last-request-cpu>%.2f</last-request-cpu>"
            "<last-request-memory>%zu</last-request-memory><process-start-time>%s</process-start-time>"
            "<process-requests>%lu</process-requests></process>\n";
      break;
    case Format::kJson:
      fmt = "{\"pid\":%d,\"state\":\"%s\",\"start time\":%s,\"start since\":%lu,\"requests\":%lu,"
            "\"request duration\":%lu,\"request method\":\"%s\",\"request uri\":\"%s%s%s\","
            "\"content length\":%zu,\"user\":\"%s\",\"script\":\"%s\",\"last request cpu\":%.2f,"
            "\"last request memory\":%zu,\"process start time\":%s,\"process requests\":%lu}";
      break;
    case Format::kOpenMetrics: return;  // php-fpm prints no rows there
  }
  Put(Printf(fmt, pid, state.c_str(), time.c_str(), since, requests, duration, method.c_str(), uri_out.c_str(), q,
             query_out.c_str(), length, user_out.c_str(), script_out.c_str(), cpu, memory, ptime.c_str(), prequests));
}

void InternalError() {
  SG(sapi_headers).http_response_code = 500;
  AddHeader("Content-Type: text/plain");
  AddHeader("Expires: Thu, 01 Jan 1970 00:00:00 GMT");
  AddHeader("Cache-Control: no-cache, no-store, must-revalidate, max-age=0");
  Put("Internal error. Please review log file for errors.");
}

// The pool's status from the supervisor, parsed; null if unavailable.
Json FetchStatus(bool full) {
  const auto& fetch = Options().pool_status;
  const std::string text = fetch ? fetch(full) : std::string();
  Json st = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (st.is_discarded() || !st.is_object()) return Json();
  return st;
}

int64_t NowEpoch() { return static_cast<int64_t>(::time(nullptr)); }


// Renders the page into t_page (headers go to the SAPI directly).
void RenderPage() {
  const bool full = HasGetKey("full");
  const Json st = FetchStatus(full);
  if (st.is_null()) {
    log::Error("status: unable to get the pool's status from the supervisor");
    InternalError();
    return;
  }
  AddHeader("Expires: Thu, 01 Jan 1970 00:00:00 GMT");
  AddHeader("Cache-Control: no-cache, no-store, must-revalidate, max-age=0");
  SG(sapi_headers).http_response_code = 200;
  if (SG(request_info).headers_only) return;

  Format f = Format::kText;
  if (HasGetKey("html")) {
    f = Format::kHtml;
    AddHeader("Content-Type: text/html");
  } else if (HasGetKey("xml")) {
    f = Format::kXml;
    AddHeader("Content-Type: text/xml");
  } else if (HasGetKey("json")) {
    f = Format::kJson;
    AddHeader("Content-Type: application/json");
  } else if (HasGetKey("openmetrics")) {
    f = Format::kOpenMetrics;
    AddHeader("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8");
  } else {
    AddHeader("Content-Type: text/plain");
  }
  const int64_t now = NowEpoch();
  RenderSummary(f, st, now);
  if (!full) {
    if (f == Format::kHtml) Put("</body></html>");
    if (f == Format::kXml) Put("</status>");
    if (f == Format::kJson) Put("}");
    return;
  }
  if (f == Format::kOpenMetrics) return;
  if (f == Format::kHtml) {
    Put("<table border=\"1\">\n<tr><th>pid</th><th>state</th><th>start time</th><th>start since</th>"
        "<th>requests</th><th>request duration</th><th>request method</th><th>request uri</th>"
        "<th>content length</th><th>user</th><th>script</th><th>last request cpu</th>"
        "<th>last request memory</th><th>process start time</th><th>process requests</th></tr>\n");
  }
  if (f == Format::kXml) Put("<processes>\n");
  if (f == Format::kJson) Put(", \"processes\":[");
  bool first = true;
  for (const Json& row : st.value("processes", Json::array())) {
    if (!first && f == Format::kJson) Put(",");
    first = false;
    RenderRow(f, row, now);
  }
  if (f == Format::kHtml) Put("</table></body></html>");
  if (f == Format::kXml) Put("</processes>\n</status>");
  if (f == Format::kJson) Put("]}");
}

}  // namespace

bool AnswerStatusPage() {
  const std::string& path = Options().status_path;
  if (path.empty() || SG(request_info).request_uri == nullptr || path != SG(request_info).request_uri) return false;
  zend_string* body;
  {
    std::string page;
    t_page = &page;
    RenderPage();
    t_page = nullptr;
    body = zend_string_init(page.data(), page.size(), 0);
  }
  PHPWRITE(ZSTR_VAL(body), ZSTR_LEN(body));
  zend_string_release(body);
  return true;
}

namespace {

void FillStatusArray(zval* out, const Json& st) {
  const int64_t now = NowEpoch();
  const int64_t start = st.value("start_time", int64_t{0});
  auto lng = [](const Json& j, const char* k) { return static_cast<zend_long>(j.value(k, int64_t{0})); };
  array_init(out);
  add_assoc_string(out, "pool", S(st, "pool").c_str());
  add_assoc_string(out, "process-manager", S(st, "process_manager").c_str());
  add_assoc_long(out, "start-time", start);
  add_assoc_long(out, "start-since", now - start);
  add_assoc_long(out, "accepted-conn", lng(st, "accepted_conn"));
  add_assoc_long(out, "listen-queue", lng(st, "listen_queue"));
  add_assoc_long(out, "max-listen-queue", lng(st, "max_listen_queue"));
  add_assoc_long(out, "listen-queue-len", lng(st, "listen_queue_len"));
  add_assoc_long(out, "idle-processes", lng(st, "idle_processes"));
  add_assoc_long(out, "active-processes", lng(st, "active_processes"));
  add_assoc_long(out, "total-processes", lng(st, "idle_processes") + lng(st, "active_processes"));
  add_assoc_long(out, "max-active-processes", lng(st, "max_active_processes"));
  add_assoc_long(out, "max-children-reached", lng(st, "max_children_reached"));
  add_assoc_long(out, "slow-requests", lng(st, "slow_requests"));
  add_assoc_long(out, "memory-peak", lng(st, "memory_peak"));
  add_assoc_long(out, "terminated-requests", lng(st, "terminated_requests"));
  add_assoc_long(out, "rejected-requests", lng(st, "rejected_requests"));
  add_assoc_long(out, "process-recycles-max-requests", lng(st, "process_recycles_max_requests"));
  add_assoc_long(out, "process-recycles-memory", lng(st, "process_recycles_memory"));
  add_assoc_long(out, "memory-recycles", lng(st, "memory_recycles"));
  zval procs;
  array_init(&procs);
  for (const Json& r : st.value("processes", Json::array())) {
    zval p;
    array_init(&p);
    const int64_t pstart = r.value("start_time", int64_t{0});
    add_assoc_long(&p, "pid", lng(r, "pid"));
    add_assoc_string(&p, "state", S(r, "state").c_str());
    add_assoc_long(&p, "start-time", pstart);
    add_assoc_long(&p, "start-since", now - pstart);
    add_assoc_long(&p, "requests", lng(r, "requests"));
    add_assoc_long(&p, "request-duration", lng(r, "request_duration"));
    add_assoc_string(&p, "request-method", Dash(S(r, "request_method")).c_str());
    add_assoc_string(&p, "request-uri", S(r, "request_uri").c_str());
    add_assoc_string(&p, "query-string", S(r, "query_string").c_str());
    add_assoc_long(&p, "request-length", lng(r, "content_length"));
    add_assoc_string(&p, "user", Dash(S(r, "user")).c_str());
    add_assoc_string(&p, "script", Dash(S(r, "script")).c_str());
    add_assoc_double(&p, "last-request-cpu", r.value("last_request_cpu", 0.0));
    add_assoc_long(&p, "last-request-memory", lng(r, "last_request_memory"));
    add_assoc_long(&p, "process-start-time", lng(r, "process_start_time"));
    add_assoc_long(&p, "process-requests", lng(r, "process_requests"));
    add_next_index_zval(&procs, &p);
  }
  add_assoc_zval(out, "procs", &procs);
}

}  // namespace

// fpm_get_status(): php-fpm's fpm_status_export_to_zval(). The array is
// built in Zend memory; the parsed status is a C++ object, so a bailout
// while building (memory_limit) is caught here and raised again after it
// is destroyed.
bool ExportStatus(zval* out) {
  volatile bool ok = false;
  volatile bool bailout = false;
  {
    const Json st = FetchStatus(true);
    if (!st.is_null()) {
      zend_try {
        FillStatusArray(out, st);
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
