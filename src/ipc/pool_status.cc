#include "ipc/pool_status.h"

namespace tfpm::ipc {
namespace {

using Json = nlohmann::json;

// Reads the keys of one object; the first missing or mistyped key is kept
// as the error and later reads do nothing.
class Reader {
 public:
  Reader(const Json& j, std::string where, Status* err) : j_(j), where_(std::move(where)), err_(err) {}

  void U64(const char* key, uint64_t* out) { U64(std::string(key), out); }
  void U64(const std::string& key, uint64_t* out) {
    if (const Json* v = Find(key); v != nullptr) {
      if (v->is_number_unsigned()) *out = v->get<uint64_t>();
      else Fail(key, "not an unsigned integer");
    }
  }
  void I64(const char* key, int64_t* out) {
    if (const Json* v = Find(key); v != nullptr) {
      if (v->is_number_integer() && (v->is_number_unsigned() ? v->get<uint64_t>() <= INT64_MAX : true)) {
        *out = v->get<int64_t>();
      } else {
        Fail(key, "not an integer");
      }
    }
  }
  void Double(const char* key, double* out) {
    if (const Json* v = Find(key); v != nullptr) {
      if (v->is_number()) *out = v->get<double>();
      else Fail(key, "not a number");
    }
  }
  void Str(const char* key, std::string* out) {
    if (const Json* v = Find(key); v != nullptr) {
      if (v->is_string()) *out = v->get<std::string>();
      else Fail(key, "not a string");
    }
  }

 private:
  const Json* Find(const std::string& key) {
    if (!err_->ok()) return nullptr;
    auto it = j_.find(key);
    if (it == j_.end()) {
      Fail(key, "missing");
      return nullptr;
    }
    return &*it;
  }
  void Fail(const std::string& key, const char* why) {
    *err_ = Status::Protocol("pool status: " + where_ + key + ": " + why);
  }

  const Json& j_;
  const std::string where_;
  Status* err_;
};

Json RowJson(const ThreadRow& r) {
  return Json{{"pid", r.pid},
              {"thread", r.thread},
              {"state", r.state},
              {"start_time", r.start_time},
              {"requests", r.requests},
              {"process_start_time", r.process_start_time},
              {"process_requests", r.process_requests},
              {"request_duration", r.request_duration},
              {"request_method", r.request_method},
              {"request_uri", r.request_uri},
              {"query_string", r.query_string},
              {"content_length", r.content_length},
              {"user", r.user},
              {"script", r.script},
              {"last_request_cpu", r.last_request_cpu},
              {"last_request_memory", r.last_request_memory}};
}

void ReadRow(Reader& in, ThreadRow* r) {
  in.I64("pid", &r->pid);
  in.U64("thread", &r->thread);
  in.Str("state", &r->state);
  in.I64("start_time", &r->start_time);
  in.U64("requests", &r->requests);
  in.I64("process_start_time", &r->process_start_time);
  in.U64("process_requests", &r->process_requests);
  in.I64("request_duration", &r->request_duration);
  in.Str("request_method", &r->request_method);
  in.Str("request_uri", &r->request_uri);
  in.Str("query_string", &r->query_string);
  in.U64("content_length", &r->content_length);
  in.Str("user", &r->user);
  in.Str("script", &r->script);
  in.Double("last_request_cpu", &r->last_request_cpu);
  in.U64("last_request_memory", &r->last_request_memory);
}

// The keys of PoolStatus::request_metrics.
constexpr const char* kRequestMetricKeys[] = {"request_duration_seconds", "queue_wait_seconds",
                                              "requests_by_status_class"};

std::string RestartKey(size_t i) { return "restarts_" + std::string(base::RestartCauseKey(base::RestartCause(i))); }
std::string ProcessRestartKey(size_t i) { return "process_" + RestartKey(i); }
std::string LimitKey(size_t i) { return std::string(scoreboard::LimitKey(scoreboard::Limit(i))); }

}  // namespace

Json EmptyRequestMetrics() {
  Json m = Json::object();
  for (const char* key : kRequestMetricKeys) m[key] = Json::object();
  return m;
}

Json ToJson(const PoolStatus& s) {
  Json out{{"pool", s.pool},
           {"process_manager", s.process_manager},
           {"start_time", s.start_time},
           {"accepted_conn", s.accepted_conn},
           {"listen_queue", s.listen_queue},
           {"max_listen_queue", s.max_listen_queue},
           {"listen_queue_len", s.listen_queue_len},
           {"idle_processes", s.idle_processes},
           {"active_processes", s.active_processes},
           {"max_active_processes", s.max_active_processes},
           {"max_children_reached", s.max_children_reached},
           {"slow_requests", s.slow_requests},
           {"memory_peak", s.memory_peak},
           {"terminated_requests", s.terminated_requests},
           {"rejected_requests", s.rejected_requests},
           {"process_recycles_max_requests", s.process_recycles_max_requests},
           {"process_recycles_memory", s.process_recycles_memory},
           {"memory_recycles", s.memory_recycles}};
  for (size_t i = 0; i < scoreboard::kLimitCount; ++i) out[LimitKey(i)] = s.limits[i];
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) out[RestartKey(i)] = s.restarts[i];
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) out[ProcessRestartKey(i)] = s.process_restarts[i];
  out["state_leaks"] = s.state_leaks;
  out["idle_trims"] = s.idle_trims;
  out["worker_processes"] = s.worker_processes;
  out["resident_bytes"] = s.resident_bytes;
  out["resident_bytes_max"] = s.resident_bytes_max;
  for (const char* key : kRequestMetricKeys) {
    auto it = s.request_metrics.find(key);
    out[key] = it != s.request_metrics.end() ? *it : Json::object();
  }
  if (s.full) {
    Json rows = Json::array();
    for (const ThreadRow& r : s.processes) rows.push_back(RowJson(r));
    out["processes"] = std::move(rows);
  }
  return out;
}

Result<PoolStatus> FromJson(const Json& j) {
  if (!j.is_object()) return Status::Protocol("pool status: not a JSON object");
  PoolStatus s;
  Status err;
  Reader in(j, "", &err);
  in.Str("pool", &s.pool);
  in.Str("process_manager", &s.process_manager);
  in.I64("start_time", &s.start_time);
  in.U64("accepted_conn", &s.accepted_conn);
  in.U64("listen_queue", &s.listen_queue);
  in.U64("max_listen_queue", &s.max_listen_queue);
  in.U64("listen_queue_len", &s.listen_queue_len);
  in.U64("idle_processes", &s.idle_processes);
  in.U64("active_processes", &s.active_processes);
  in.U64("max_active_processes", &s.max_active_processes);
  in.U64("max_children_reached", &s.max_children_reached);
  in.U64("slow_requests", &s.slow_requests);
  in.U64("memory_peak", &s.memory_peak);
  in.U64("terminated_requests", &s.terminated_requests);
  in.U64("rejected_requests", &s.rejected_requests);
  in.U64("process_recycles_max_requests", &s.process_recycles_max_requests);
  in.U64("process_recycles_memory", &s.process_recycles_memory);
  in.U64("memory_recycles", &s.memory_recycles);
  for (size_t i = 0; i < scoreboard::kLimitCount; ++i) in.U64(LimitKey(i), &s.limits[i]);
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) in.U64(RestartKey(i), &s.restarts[i]);
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) in.U64(ProcessRestartKey(i), &s.process_restarts[i]);
  in.U64("state_leaks", &s.state_leaks);
  in.U64("idle_trims", &s.idle_trims);
  in.U64("worker_processes", &s.worker_processes);
  in.U64("resident_bytes", &s.resident_bytes);
  in.U64("resident_bytes_max", &s.resident_bytes_max);
  if (!err.ok()) return err;
  for (const char* key : kRequestMetricKeys) {
    auto it = j.find(key);
    if (it == j.end()) return Status::Protocol(std::string("pool status: ") + key + ": missing");
    if (!it->is_object()) return Status::Protocol(std::string("pool status: ") + key + ": not an object");
    s.request_metrics[key] = *it;
  }
  auto rows = j.find("processes");
  if (rows == j.end()) return s;
  if (!rows->is_array()) return Status::Protocol("pool status: processes: not an array");
  s.full = true;
  for (size_t i = 0; i < rows->size(); ++i) {
    const Json& row = (*rows)[i];
    const std::string where = "processes[" + std::to_string(i) + "]";
    if (!row.is_object()) return Status::Protocol("pool status: " + where + ": not an object");
    ThreadRow r;
    Reader rin(row, where + ".", &err);
    ReadRow(rin, &r);
    if (!err.ok()) return err;
    s.processes.push_back(std::move(r));
  }
  return s;
}

Result<PoolStatus> FromJsonText(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Protocol("pool status: not JSON (" + std::to_string(text.size()) + " bytes)");
  return FromJson(j);
}

}  // namespace tfpm::ipc
