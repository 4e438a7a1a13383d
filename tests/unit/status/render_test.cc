// The status page from an ipc::PoolStatus, without PHP (status/render.h):
// each format's fields, rows with ?full, escaping of client bytes, HEAD,
// the 500 answer, and the query's keys.
#include "status/render.h"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace tfpm;
using status::Format;

namespace {

ipc::PoolStatus Pool(bool full) {
  ipc::PoolStatus s;
  s.pool = "www";
  s.process_manager = "static";
  s.start_time = 1000;
  s.accepted_conn = 42;
  s.idle_processes = 3;
  s.active_processes = 1;
  s.max_active_processes = 2;
  s.memory_peak = 2097152;
  s.terminated_requests = 5;
  s.limits[0] = 7;
  s.restarts[0] = 8;
  s.process_recycles_memory = 9;
  s.process_restarts[static_cast<size_t>(base::RestartCause::kCrash)] = 10;
  s.process_restarts[static_cast<size_t>(base::RestartCause::kMaxRequests)] = 11;
  s.worker_processes = 2;
  s.resident_bytes = 12000000;
  s.resident_bytes_max = 7000000;
  s.full = full;
  if (full) {
    ipc::ThreadRow r;
    r.pid = 77;
    r.state = "Running";
    r.start_time = 1500;
    r.requests = 6;
    r.request_duration = 1234;
    r.request_method = "GET";
    r.request_uri = "/a/<b>.php";
    r.query_string = "q=\"x\"&y=\xc3\xa9";
    r.script = "/srv/a.php";
    r.last_request_cpu = 12.5;
    s.processes.push_back(r);
  }
  return s;
}

status::Page Page(Format f, bool full) {
  return status::Render(Pool(full), status::Query{.format = f, .full = full}, 2000, false);
}

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("text: php-fpm's fields, then ours, aligned") {
  const status::Page p = Page(Format::kText, false);
  CHECK(p.status == 200);
  CHECK(p.headers.back() == "Content-Type: text/plain");
  CHECK(p.body.rfind("pool:                 www\nprocess manager:      static\n", 0) == 0);
  CHECK(Has(p.body, "start since:          1000\n"));
  CHECK(Has(p.body, "accepted conn:        42\n"));
  CHECK(Has(p.body, "total processes:      4\n"));
  CHECK(Has(p.body, "memory peak:          2097152\n"));
  CHECK(Has(p.body, "terminated requests:  5\n"));
  CHECK(Has(p.body, "connections refused:  7\n"));
  CHECK(Has(p.body, "restarts crash:       8\n"));
  CHECK(Has(p.body, "process recycles memory: 9\n"));
  CHECK(Has(p.body, "process restarts crash: 10\n"));
  CHECK(Has(p.body, "process restarts max requests: 11\n"));
  CHECK(Has(p.body, "process restarts reload: 0\n"));
}

TEST_CASE("json: parses, with php-fpm's spaced keys and escaped rows") {
  const status::Page p = Page(Format::kJson, true);
  CHECK(p.headers.back() == "Content-Type: application/json");
  const auto j = nlohmann::json::parse(p.body);
  CHECK(j["pool"] == "www");
  CHECK(j["accepted conn"] == 42);
  CHECK(j["total processes"] == 4);
  CHECK(j["connections refused"] == 7);
  CHECK(j["memory recycles"] == 0);
  CHECK(j["process restarts crash"] == 10);
  CHECK(j["process restarts max requests"] == 11);
  REQUIRE(j["processes"].size() == 1);
  CHECK(j["processes"][0]["pid"] == 77);
  CHECK(j["processes"][0]["request uri"] == "/a/<b>.php?q=\"x\"&y=\xc3\xa9");
  CHECK(Has(p.body, "\"request uri\":\"\\/a\\/<b>.php?q=\\\"x\\\"&y=\\u00e9\""));
  CHECK(j["processes"][0]["user"] == "-");
  CHECK(j["processes"][0]["last request cpu"] == 12.5);
}

TEST_CASE("xml and html: entities in rows, closing tags") {
  const status::Page xml = Page(Format::kXml, true);
  CHECK(xml.headers.back() == "Content-Type: text/xml");
  CHECK(xml.body.rfind("<?xml version=\"1.0\" ?>\n<status>\n<pool>www</pool>\n", 0) == 0);
  CHECK(Has(xml.body, "<request-uri>/a/&lt;b&gt;.php?q=&quot;x&quot;&amp;y=\xc3\xa9</request-uri>"));
  CHECK(Has(xml.body, "<connections-refused>7</connections-refused>\n"));
  CHECK(Has(xml.body, "<process-restarts-crash>10</process-restarts-crash>\n"));
  CHECK(xml.body.ends_with("</processes>\n</status>"));
  const status::Page html = Page(Format::kHtml, false);
  CHECK(Has(html.body, "<tr><th>accepted conn</th><td>42</td></tr>\n"));
  CHECK(Has(html.body, "<tr><th>process restarts max requests</th><td>11</td></tr>\n"));
  CHECK(html.body.ends_with("</table>\n</body></html>"));
}

TEST_CASE("openmetrics: php-fpm's names, ours as tfpm_*, # EOF last, no rows") {
  const status::Page p = Page(Format::kOpenMetrics, true);
  CHECK(Has(p.headers.back(), "application/openmetrics-text"));
  CHECK(Has(p.body, "phpfpm_accepted_connections 42\n"));
  CHECK(Has(p.body, "# HELP tfpm_connections_refused Times a limit of docs/security.md acted on: "
                    "connections refused.\n# TYPE tfpm_connections_refused counter\ntfpm_connections_refused 7\n"));
  CHECK(Has(p.body, "# HELP tfpm_process_recycles_memory Processes replaced over process_memory_limit.\n"));
  CHECK(Has(p.body, "tfpm_memory_recycles 0\n"));
  CHECK(Has(p.body, "# HELP tfpm_idle_trims Idle PHP threads that gave their free memory back to the kernel after "
                    "idle_trim.\n# TYPE tfpm_idle_trims counter\ntfpm_idle_trims 0\n"));
  CHECK(Has(p.body, "# HELP tfpm_process_restarts_crash Worker processes that ended, by cause: process restarts "
                    "crash.\n# TYPE tfpm_process_restarts_crash counter\ntfpm_process_restarts_crash 10\n"));
  CHECK(Has(p.body, "tfpm_process_restarts_max_requests 11\n"));
  // Memory is a gauge, not a counter.
  CHECK(Has(p.body, "# TYPE tfpm_worker_processes gauge\ntfpm_worker_processes 2\n"));
  CHECK(Has(p.body, "# TYPE tfpm_resident_bytes gauge\ntfpm_resident_bytes 12000000\n"));
  CHECK(Has(p.body, "# TYPE tfpm_resident_bytes_max gauge\ntfpm_resident_bytes_max 7000000\n"));
  // The histograms and requests by status class come last, well formed
  // even with no request yet (scoreboard/request_metrics.h).
  CHECK(Has(p.body, "# TYPE tfpm_request_duration_seconds histogram\n"));
  CHECK(Has(p.body, "tfpm_request_duration_seconds_bucket{le=\"+Inf\"} 0\n"));
  CHECK(Has(p.body, "# TYPE tfpm_queue_wait_seconds histogram\n"));
  CHECK(p.body.find("tfpm_memory_recycles 0\n") < p.body.find("# TYPE tfpm_request_duration_seconds"));
  CHECK(p.body.ends_with("\n# EOF\n"));
  CHECK(!Has(p.body, "/a/"));
}

TEST_CASE("HEAD: cache headers only; unavailable status: 500") {
  const status::Page head = status::Render(Pool(false), {}, 2000, true);
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.headers == std::vector<std::string>{"Expires: Thu, 01 Jan 1970 00:00:00 GMT",
                                                 "Cache-Control: no-cache, no-store, must-revalidate, max-age=0"});
  const status::Page err = status::InternalError();
  CHECK(err.status == 500);
  CHECK(err.body == "Internal error. Please review log file for errors.");
}

TEST_CASE("the query's keys pick the format as php-fpm does") {
  CHECK(status::ParseQueryString("").format == Format::kText);
  CHECK(!status::ParseQueryString("").full);
  CHECK(status::ParseQueryString("json").format == Format::kJson);
  CHECK(status::ParseQueryString("full&json=1").full);
  CHECK(status::ParseQueryString("json&html").format == Format::kHtml);  // html wins, as php-fpm
  CHECK(status::ParseQueryString("xml&openmetrics").format == Format::kXml);
  CHECK(status::ParseQueryString("%6Ason").format == Format::kJson);
  CHECK(status::ParseQueryString("jsonx&fullx").format == Format::kText);
  CHECK(!status::ParseQueryString("jsonx&fullx").full);
}
