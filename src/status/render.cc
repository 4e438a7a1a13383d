#include "status/render.h"

#include <time.h>

#include <algorithm>
#include <cstdio>

#include "scoreboard/request_metrics.h"
#include "status/escape.h"

namespace tfpm::status {
namespace {

// php-fpm escapes the request URI and query string (HTML entities for HTML
// and XML, json_encode for JSON) but prints user and script raw; we escape
// those too, so the output always parses — in a way that leaves the usual
// paths and names unchanged (no escaped slashes or Unicode in JSON).
std::string EscapeUri(Format f, std::string_view s) {
  switch (f) {
    case Format::kHtml:
    case Format::kXml: return EscapeXml(s);
    case Format::kJson: return EscapeJson(s, JsonSlashes::kEscaped, JsonUnicode::kEscaped);
    default: return std::string(s);
  }
}
std::string EscapeOther(Format f, std::string_view s) {
  switch (f) {
    case Format::kHtml:
    case Format::kXml: return EscapeXml(s);
    case Format::kJson: return EscapeJson(s, JsonSlashes::kUnescaped, JsonUnicode::kUnescaped);
    default: return std::string(s);
  }
}

// printf-style formatting into a std::string (the formats are php-fpm's).
template <typename... A>
std::string Printf(const char* fmt, A... args) {
  const int n = snprintf(nullptr, 0, fmt, args...);
  std::string out(static_cast<size_t>(n), '\0');
  snprintf(out.data(), out.size() + 1, fmt, args...);
  return out;
}

std::string Dash(std::string s) { return s.empty() ? "-" : s; }

// One counter of ours, after php-fpm's fields: `key` names it in
// OpenMetrics (tfpm_<key>), `label` in the other formats.
struct Counter {
  std::string key, label, help;
  unsigned long value;
  const char* type = "counter";  // OpenMetrics: "counter" or "gauge"
};

// Every counter of ours, in the order every format shows them: the
// connection limits' (docs/security.md), the restarts by cause
// (base/restart_cause.h), worker mode's leak_check count, then process
// recycling's (docs/config.md "Recycling"), idle trimming's. A new counter
// is one line here.
std::vector<Counter> AllCounters(const ipc::PoolStatus& st) {
  std::vector<Counter> out;
  for (size_t i = 0; i < scoreboard::kLimitCount; ++i) {
    const auto& [key, label] = scoreboard::kLimitNames[i];
    out.push_back({std::string(key), std::string(label),
                   "Times a limit of docs/security.md acted on: " + std::string(label) + ".", st.limits[i]});
  }
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) {
    const auto& [key, label] = base::kRestartCauseNames[i];
    out.push_back({"restarts_" + std::string(key), std::string(label),
                   "PHP interpreter (worker script) restarts by cause: " + std::string(label) + ".", st.restarts[i]});
  }
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) {
    const auto& [key, label] = base::kRestartCauseNames[i];
    out.push_back({"process_restarts_" + std::string(key), "process " + std::string(label),
                   "Worker processes that ended, by cause: process " + std::string(label) + ".",
                   st.process_restarts[i]});
  }
  out.push_back({"state_leaks", "state leaks",
                 "Worker mode leak_check: state items a request left changed: state leaks.", st.state_leaks});
  out.push_back({"process_recycles_max_requests", "process recycles max requests",
                 "Processes replaced after process_max_requests.", st.process_recycles_max_requests});
  out.push_back({"process_recycles_memory", "process recycles memory",
                 "Processes replaced over process_memory_limit.", st.process_recycles_memory});
  out.push_back({"memory_recycles", "memory recycles", "Thread interpreters recycled over memory_recycle.",
                 st.memory_recycles});
  out.push_back({"idle_trims", "idle trims",
                 "Idle PHP threads that gave their free memory back to the kernel after idle_trim.", st.idle_trims});
  out.push_back({"worker_processes", "worker processes", "The pool's live worker processes.", st.worker_processes,
                 "gauge"});
  out.push_back({"resident_bytes", "resident bytes",
                 "Resident memory (RSS) of the pool's worker processes, summed (shared pages count in each).",
                 st.resident_bytes, "gauge"});
  out.push_back({"resident_bytes_max", "resident bytes max",
                 "Resident memory (RSS) of the pool's largest worker process.", st.resident_bytes_max, "gauge"});
  return out;
}

// Builds one page in one format.
// The summary's values, as php-fpm's fpm_status.c prints them (its C
// types, for its printf formats).
struct SummaryValues {
  const char* p;  // pool
  const char* m;  // process manager
  int64_t start;
  unsigned long since, accepted, slow;
  int lq, lq_max;
  unsigned lq_len;
  int idle, active, active_max;
  unsigned reached;
  size_t peak;
  // tfpm's own counters, after php-fpm's fields: requests ended by
  // request_terminate_timeout and answered 503 by max_wait_time.
  unsigned long terminated, rejected;
};

SummaryValues Values(const ipc::PoolStatus& st, int64_t now) {
  return SummaryValues{st.pool.c_str(),
                       st.process_manager.c_str(),
                       st.start_time,
                       static_cast<unsigned long>(now - st.start_time),
                       static_cast<unsigned long>(st.accepted_conn),
                       static_cast<unsigned long>(st.slow_requests),
                       static_cast<int>(st.listen_queue),
                       static_cast<int>(st.max_listen_queue),
                       static_cast<unsigned>(st.listen_queue_len),
                       static_cast<int>(st.idle_processes),
                       static_cast<int>(st.active_processes),
                       static_cast<int>(st.max_active_processes),
                       static_cast<unsigned>(st.max_children_reached),
                       static_cast<size_t>(st.memory_peak),
                       static_cast<unsigned long>(st.terminated_requests),
                       static_cast<unsigned long>(st.rejected_requests)};
}

class Renderer {
 public:
  explicit Renderer(Format f) : f_(f) {}
  void Summary(const ipc::PoolStatus& st, int64_t now);
  void SummaryText(const ipc::PoolStatus& st, const SummaryValues& v);
  void SummaryHtml(const ipc::PoolStatus& st, const SummaryValues& v);
  void SummaryXml(const ipc::PoolStatus& st, const SummaryValues& v);
  void SummaryJson(const ipc::PoolStatus& st, const SummaryValues& v);
  void SummaryOpenMetrics(const ipc::PoolStatus& st, const SummaryValues& v);
  void Row(const ipc::ThreadRow& r, int64_t now);
  void Counters(const ipc::PoolStatus& st);
  void Put(std::string_view s) { out_.append(s); }
  std::string Take() { return std::move(out_); }

 private:
  const Format f_;
  std::string out_;
};

void Renderer::Counters(const ipc::PoolStatus& st) {
  for (const Counter& c : AllCounters(st)) {
    const unsigned long n = c.value;
    switch (f_) {
      case Format::kText: {
        std::string head = c.label + ":";
        head.resize(std::max<size_t>(22, head.size() + 1), ' ');
        Put(Printf("%s%lu\n", head.c_str(), n));
        break;
      }
      case Format::kHtml: Put(Printf("<tr><th>%s</th><td>%lu</td></tr>\n", c.label.c_str(), n)); break;
      case Format::kXml: {
        std::string dashed = c.label;
        std::replace(dashed.begin(), dashed.end(), ' ', '-');
        Put(Printf("<%s>%lu</%s>\n", dashed.c_str(), n, dashed.c_str()));
        break;
      }
      case Format::kJson: Put(Printf(",\"%s\":%lu", c.label.c_str(), n)); break;
      case Format::kOpenMetrics:
        Put(Printf("# HELP tfpm_%s %s\n# TYPE tfpm_%s %s\ntfpm_%s %lu\n", c.key.c_str(), c.help.c_str(),
                   c.key.c_str(), c.type, c.key.c_str(), n));
        break;
    }
  }
}

void Renderer::Summary(const ipc::PoolStatus& st, int64_t now) {
  const SummaryValues v = Values(st, now);
  switch (f_) {
    case Format::kText: return SummaryText(st, v);
    case Format::kHtml: return SummaryHtml(st, v);
    case Format::kXml: return SummaryXml(st, v);
    case Format::kJson: return SummaryJson(st, v);
    case Format::kOpenMetrics: return SummaryOpenMetrics(st, v);
  }
}

void Renderer::SummaryText(const ipc::PoolStatus& st, const SummaryValues& v) {
  const auto& [p, m, start, since, accepted, slow, lq, lq_max, lq_len, idle, active, active_max, reached, peak,
                terminated, rejected] = v;
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
  Counters(st);
}

void Renderer::SummaryHtml(const ipc::PoolStatus& st, const SummaryValues& v) {
  const auto& [p, m, start, since, accepted, slow, lq, lq_max, lq_len, idle, active, active_max, reached, peak,
                terminated, rejected] = v;
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
  Counters(st);
  Put("</table>\n");
}

void Renderer::SummaryXml(const ipc::PoolStatus& st, const SummaryValues& v) {
  const auto& [p, m, start, since, accepted, slow, lq, lq_max, lq_len, idle, active, active_max, reached, peak,
                terminated, rejected] = v;
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
  Counters(st);
}

void Renderer::SummaryJson(const ipc::PoolStatus& st, const SummaryValues& v) {
  const auto& [p, m, start, since, accepted, slow, lq, lq_max, lq_len, idle, active, active_max, reached, peak,
                terminated, rejected] = v;
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
  Counters(st);
}

void Renderer::SummaryOpenMetrics(const ipc::PoolStatus& st, const SummaryValues& v) {
  const auto& [p, m, start, since, accepted, slow, lq, lq_max, lq_len, idle, active, active_max, reached, peak,
                terminated, rejected] = v;
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
  Counters(st);
  // Metric families only OpenMetrics shows, before the end marker:
  // the histograms and requests by status class.
  Put(scoreboard::RenderRequestMetrics(st.request_metrics));
  Put("# EOF\n");
}

void Renderer::Row(const ipc::ThreadRow& r, int64_t now) {
  const int64_t start = r.start_time;
  const std::string& uri = r.request_uri;
  const std::string& query = r.query_string;
  const std::string uri_out = uri.empty() ? "-" : EscapeUri(f_, uri);
  const std::string query_out = query.empty() ? "" : EscapeUri(f_, query);
  const std::string& user = r.user;
  const std::string& script = r.script;
  const std::string user_out = user.empty() ? "-" : EscapeOther(f_, user);
  const std::string script_out = script.empty() ? "-" : EscapeOther(f_, script);
  const std::string method = Dash(r.request_method);
  const std::string& state = r.state;
  const int pid = static_cast<int>(r.pid);
  const std::string time = FormatTime(start, f_ == Format::kText || f_ == Format::kHtml);
  const unsigned long since = static_cast<unsigned long>(now - start);
  const unsigned long requests = r.requests, duration = static_cast<unsigned long>(r.request_duration);
  const size_t length = r.content_length, memory = r.last_request_memory;
  const double cpu = r.last_request_cpu;
  // After php-fpm's fields: the process's own start time and its requests
  // in all threads (a row's "start time" and "requests" are its thread's
  // interpreter's), so process recycling is visible.
  const int64_t pstart = r.process_start_time;
  const std::string ptime = FormatTime(pstart, f_ == Format::kText || f_ == Format::kHtml);
  const unsigned long prequests = r.process_requests;
  const char* q = query.empty() ? "" : "?";
  const char* fmt = nullptr;
  switch (f_) {
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


const char* ContentType(Format f) {
  switch (f) {
    case Format::kHtml: return "Content-Type: text/html";
    case Format::kXml: return "Content-Type: text/xml";
    case Format::kJson: return "Content-Type: application/json";
    case Format::kOpenMetrics: return "Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8";
    case Format::kText: break;
  }
  return "Content-Type: text/plain";
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding of one key.
std::string DecodeKey(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string FormatTime(int64_t epoch, bool human) {
  if (!human) return std::to_string(epoch);
  const time_t t = static_cast<time_t>(epoch);
  tm local;
  localtime_r(&t, &local);
  char buf[64];
  const size_t n = strftime(buf, sizeof(buf) - 1, "%d/%b/%Y:%H:%M:%S %z", &local);
  return std::string(buf, n);
}

Query QueryFromKeys(const std::function<bool(std::string_view)>& has_key) {
  Query q;
  q.full = has_key("full");
  if (has_key("html")) q.format = Format::kHtml;
  else if (has_key("xml")) q.format = Format::kXml;
  else if (has_key("json")) q.format = Format::kJson;
  else if (has_key("openmetrics")) q.format = Format::kOpenMetrics;
  return q;
}

Query ParseQueryString(std::string_view qs) {
  std::vector<std::string> keys;
  while (!qs.empty()) {
    const size_t amp = qs.find('&');
    const std::string_view part = qs.substr(0, amp);
    qs.remove_prefix(amp == std::string_view::npos ? qs.size() : amp + 1);
    if (!part.empty()) keys.push_back(DecodeKey(part.substr(0, part.find('='))));
  }
  return QueryFromKeys([&](std::string_view k) { return std::find(keys.begin(), keys.end(), k) != keys.end(); });
}

Page InternalError() {
  Page p;
  p.status = 500;
  p.headers = {"Content-Type: text/plain", "Expires: Thu, 01 Jan 1970 00:00:00 GMT",
               "Cache-Control: no-cache, no-store, must-revalidate, max-age=0"};
  p.body = "Internal error. Please review log file for errors.";
  return p;
}

Page Render(const ipc::PoolStatus& st, const Query& q, int64_t now, bool headers_only) {
  Page p;
  p.headers = {"Expires: Thu, 01 Jan 1970 00:00:00 GMT",
               "Cache-Control: no-cache, no-store, must-revalidate, max-age=0"};
  if (headers_only) return p;
  const Format f = q.format;
  p.headers.emplace_back(ContentType(f));
  Renderer out(f);
  out.Summary(st, now);
  if (!q.full) {
    if (f == Format::kHtml) out.Put("</body></html>");
    if (f == Format::kXml) out.Put("</status>");
    if (f == Format::kJson) out.Put("}");
    p.body = out.Take();
    return p;
  }
  if (f == Format::kOpenMetrics) {
    p.body = out.Take();
    return p;
  }
  if (f == Format::kHtml) {
    out.Put("<table border=\"1\">\n<tr><th>pid</th><th>state</th><th>start time</th><th>start since</th>"
            "<th>requests</th><th>request duration</th><th>request method</th><th>request uri</th>"
            "<th>content length</th><th>user</th><th>script</th><th>last request cpu</th>"
            "<th>last request memory</th><th>process start time</th><th>process requests</th></tr>\n");
  }
  if (f == Format::kXml) out.Put("<processes>\n");
  if (f == Format::kJson) out.Put(", \"processes\":[");
  bool first = true;
  for (const ipc::ThreadRow& row : st.processes) {
    if (!first && f == Format::kJson) out.Put(",");
    first = false;
    out.Row(row, now);
  }
  if (f == Format::kHtml) out.Put("</table></body></html>");
  if (f == Format::kXml) out.Put("</processes>\n</status>");
  if (f == Format::kJson) out.Put("]}");
  p.body = out.Take();
  return p;
}

}  // namespace tfpm::status
