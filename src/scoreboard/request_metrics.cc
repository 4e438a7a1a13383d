#include "scoreboard/request_metrics.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string_view>

namespace tfpm::scoreboard {
namespace {

using Json = nlohmann::json;

constexpr const char* kDurationKey = "request_duration_seconds";
constexpr const char* kWaitKey = "queue_wait_seconds";
constexpr const char* kStatusKey = "requests_by_status_class";

double Seconds(uint64_t us) { return static_cast<double>(us) / 1e6; }

Json HistogramJson(const HistogramTotals& h) {
  Json buckets = Json::array();
  for (size_t i = 0; i < kBucketCount; ++i) {
    buckets.push_back(Json{{"le", std::string(kBucketLabels[i])}, {"count", h.Cumulative(i)}});
  }
  return Json{{"buckets", std::move(buckets)}, {"sum", Seconds(h.sum_us)}, {"count", h.Count()}};
}

// A count: a non-negative integer, else 0.
uint64_t Count(const Json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0) return static_cast<uint64_t>(j.get<int64_t>());
  return 0;
}

std::string Format(const char* fmt, auto... args) {
  char buf[256];
  const int n = std::snprintf(buf, sizeof(buf), fmt, args...);
  return std::string(buf, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof(buf) - 1))));
}

void RenderHistogram(std::string* out, const Json& status, const char* key, std::string_view name,
                     std::string_view help) {
  const Json* h = status.contains(key) && status[key].is_object() ? &status[key] : nullptr;
  const Json* buckets = h != nullptr && h->contains("buckets") && (*h)["buckets"].is_array() ? &(*h)["buckets"] : nullptr;
  const std::string n(name);
  *out += "# HELP " + n + " " + std::string(help) + "\n# TYPE " + n + " histogram\n# UNIT " + n + " seconds\n";
  // Cumulative counts that never decrease, whatever the JSON says: the
  // count is the +Inf bucket's.
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    if (buckets != nullptr && i < buckets->size() && (*buckets)[i].is_object()) {
      cumulative = std::max(cumulative, Count((*buckets)[i].value("count", Json())));
    }
    *out += Format("%s_bucket{le=\"%s\"} %" PRIu64 "\n", n.c_str(), std::string(kBucketLabels[i]).c_str(), cumulative);
  }
  double sum = h != nullptr && h->contains("sum") && (*h)["sum"].is_number() ? (*h)["sum"].get<double>() : 0.0;
  if (!(sum >= 0.0)) sum = 0.0;  // also NaN
  *out += Format("%s_sum %.6f\n", n.c_str(), sum);
  *out += Format("%s_count %" PRIu64 "\n", n.c_str(), cumulative);
}

}  // namespace

RequestTotals SumRequestStats(const Segment& seg) {
  RequestTotals t;
  for (uint32_t i = 0, n = seg.Threads(); i < n; ++i) t.Add(seg.slot(i)->stats);
  return t;
}

void AddRequestMetrics(Json* status, const RequestTotals& retired, const std::vector<Segment>& live) {
  RequestTotals t = retired;
  for (const Segment& seg : live) t.Add(SumRequestStats(seg));
  (*status)[kDurationKey] = HistogramJson(t.duration);
  (*status)[kWaitKey] = HistogramJson(t.wait);
  Json classes = Json::object();
  for (size_t i = 0; i < kStatusClassCount; ++i) classes[std::string(kStatusClassNames[i])] = t.status[i];
  (*status)[kStatusKey] = std::move(classes);
}

std::string RenderRequestMetrics(const Json& status) {
  std::string out;
  RenderHistogram(&out, status, kDurationKey, "tfpm_request_duration_seconds",
                  "Time PHP took to run a request and send its answer, from the start of PHP to the end of the "
                  "request.");
  RenderHistogram(&out, status, kWaitKey, "tfpm_queue_wait_seconds",
                  "Time a request waited in this process before PHP started it, from the accept of its "
                  "connection (or the first read of a request on a kept connection).");
  out += "# HELP tfpm_requests Finished requests by HTTP status class.\n# TYPE tfpm_requests counter\n";
  const Json* classes = status.contains(kStatusKey) && status[kStatusKey].is_object() ? &status[kStatusKey] : nullptr;
  for (std::string_view name : kStatusClassNames) {
    const std::string k(name);
    const uint64_t n = classes != nullptr ? Count(classes->value(k, Json())) : 0;
    out += Format("tfpm_requests_total{status_class=\"%s\"} %" PRIu64 "\n", k.c_str(), n);
  }
  return out;
}

}  // namespace tfpm::scoreboard
