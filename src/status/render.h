// php-fpm's status page (pm.status_path) rendered from a pool's status
// (ipc/pool_status.h), with no PHP: the same formats as php-fpm's
// fpm_status.c (text, ?json, ?xml, ?html, ?openmetrics, each with ?full),
// field names, headers and escaping (status/escape.h), so existing FPM
// monitoring parses it. Differences (user and script escaped in
// JSON/XML/HTML; one row per PHP thread) are in docs/fpm-differences.md.
//
// Pure: the caller fetches the status and sends the page. Today the caller
// is the PHP SAPI (sapi/php_status.cc); the supervisor can serve the same
// page on its own socket without a free PHP thread (issue #18).
//
// Adding a counter to every format: one line in AllCounters() (render.cc),
// after the field is in ipc::PoolStatus. A metric family only OpenMetrics
// shows (a histogram) is one Renderer member function in render.cc, called
// where Renderer::Summary's OpenMetrics case marks it, before "# EOF".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ipc/pool_status.h"

namespace tfpm::status {

enum class Format { kText, kHtml, kXml, kJson, kOpenMetrics };

struct Query {
  Format format = Format::kText;
  bool full = false;  // one row per thread
};
// As php-fpm: ?html, else ?xml, else ?json, else ?openmetrics, else text;
// ?full with any. `has_key` answers whether the query has that key.
Query QueryFromKeys(const std::function<bool(std::string_view)>& has_key);
// The same from a raw QUERY_STRING ("json&full", "full=1&xml"): the keys
// are the names before "=" in each "&"-separated part, percent-decoded.
Query ParseQueryString(std::string_view query_string);

struct Page {
  int status = 200;
  std::vector<std::string> headers;  // "Name: value", in order
  std::string body;
};

// The page for `st` (its rows are shown if `q.full`). `now` is epoch
// seconds; times are shown in the local time zone. A HEAD request
// (`headers_only`) gets the cache headers without Content-Type or body, as
// php-fpm.
Page Render(const ipc::PoolStatus& st, const Query& q, int64_t now, bool headers_only);
// php-fpm's answer when the status cannot be had: 500, text/plain.
Page InternalError();

// "03/Dec/2026:10:36:24 +0000" (human) or the epoch seconds.
std::string FormatTime(int64_t epoch, bool human);

}  // namespace tfpm::status
