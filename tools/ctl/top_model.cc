#include "tools/ctl/top_model.h"

#include <algorithm>
#include <set>

namespace tfpm::ctl {
namespace {

using control::Json;

// A request row for thread `t` of `proc` (running or its last one).
TopRequest RequestOn(const TopProcess& proc, const TopThread& t, double duration_ms, const std::string& method,
                     const std::string& uri) {
  TopRequest req;
  req.pool = proc.pool;
  req.pid = proc.pid;
  req.thread = t.index;
  req.duration_ms = duration_ms;
  req.method = method;
  req.uri = uri;
  return req;
}

// A non-negative integer (parsed JSON holds them as unsigned; built in
// memory, as signed).
bool IsCount(const Json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
}

// Reads typed keys and keeps the first error, with the path of the key.
class Reader {
 public:
  const Json* Field(const Json& obj, const std::string& where, const char* key) {
    if (!error_.empty()) return nullptr;
    if (!obj.is_object()) {
      Fail(where, "not an object");
      return nullptr;
    }
    auto it = obj.find(key);
    if (it == obj.end()) {
      Fail(where + "." + key, "missing");
      return nullptr;
    }
    return &*it;
  }
  std::string Str(const Json& obj, const std::string& where, const char* key) {
    const Json* v = Field(obj, where, key);
    if (v == nullptr) return "";
    if (!v->is_string()) return Fail(where + "." + key, "not a string"), "";
    return v->get<std::string>();
  }
  uint64_t U64(const Json& obj, const std::string& where, const char* key) {
    const Json* v = Field(obj, where, key);
    if (v == nullptr) return 0;
    if (!IsCount(*v)) return Fail(where + "." + key, "not a count"), 0;
    return v->get<uint64_t>();
  }
  int64_t I64(const Json& obj, const std::string& where, const char* key) {
    const Json* v = Field(obj, where, key);
    if (v == nullptr) return 0;
    if (!v->is_number_integer()) return Fail(where + "." + key, "not an integer"), 0;
    return v->get<int64_t>();
  }
  double Num(const Json& obj, const std::string& where, const char* key) {
    const Json* v = Field(obj, where, key);
    if (v == nullptr) return 0;
    if (!v->is_number()) return Fail(where + "." + key, "not a number"), 0;
    return v->get<double>();
  }
  bool Bool(const Json& obj, const std::string& where, const char* key) {
    const Json* v = Field(obj, where, key);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return Fail(where + "." + key, "not true or false"), false;
    return v->get<bool>();
  }
  const Json& Array(const Json& obj, const std::string& where, const char* key) {
    static const Json kEmpty = Json::array();
    const Json* v = Field(obj, where, key);
    if (v == nullptr) return kEmpty;
    if (!v->is_array()) return Fail(where + "." + key, "not an array"), kEmpty;
    return *v;
  }
  // A count or null (the daemon could not tell).
  std::optional<uint64_t> OptU64(const Json& obj, const std::string& where, const char* key) {
    const Json* v = Field(obj, where, key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!IsCount(*v)) return Fail(where + "." + key, "not a count or null"), std::nullopt;
    return v->get<uint64_t>();
  }
  void Fail(const std::string& where, const std::string& what) {
    if (error_.empty()) error_ = where + ": " + what;
  }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

TopThread ReadThread(Reader& r, const Json& j, const std::string& where) {
  TopThread t;
  t.index = r.U64(j, where, "index");
  t.state = r.Str(j, where, "state");
  t.requests = r.U64(j, where, "requests");
  t.running = t.state == "Running";
  if (t.running) {
    t.duration_ms = r.Num(j, where, "duration_ms");
    t.method = r.Str(j, where, "method");
    t.uri = r.Str(j, where, "uri");
  } else if (t.requests > 0) {
    t.has_last = true;
    t.last_duration_ms = r.Num(j, where, "last_duration_ms");
    t.last_status = r.I64(j, where, "last_status");
    t.last_memory = r.U64(j, where, "last_memory");
    t.last_method = r.Str(j, where, "last_method");
    t.last_uri = r.Str(j, where, "last_uri");
  }
  return t;
}

TopProcess ReadProcess(Reader& r, const Json& j, const std::string& where, const std::string& pool) {
  TopProcess p;
  p.pool = pool.empty() ? r.Str(j, where, "pool") : pool;
  p.pid = r.I64(j, where, "pid");
  p.state = r.Str(j, where, "state");
  p.requests = r.U64(j, where, "requests");
  p.rss_bytes = r.OptU64(j, where, "rss_bytes");
  const Json& threads = r.Array(j, where, "threads");
  for (size_t i = 0; i < threads.size(); ++i) {
    p.threads.push_back(ReadThread(r, threads[i], where + ".threads[" + std::to_string(i) + "]"));
  }
  return p;
}

}  // namespace

Result<TopSample> ParseTopSample(const Json& reply) {
  Reader r;
  TopSample s;
  const std::string top = "status";
  s.version = r.Str(reply, top, "version");
  s.php = r.Str(reply, top, "php");
  s.pid = r.I64(reply, top, "pid");
  s.uptime_s = r.Num(reply, top, "uptime_s");
  s.generation = r.U64(reply, top, "generation");
  s.stopping = r.Bool(reply, top, "stopping");
  s.reloading = reply.is_object() && reply.contains("reloading");
  const Json& pools = r.Array(reply, top, "pools");
  for (size_t i = 0; i < pools.size(); ++i) {
    const std::string where = "status: pools[" + std::to_string(i) + "]";
    const Json& j = pools[i];
    TopPool p;
    p.name = r.Str(j, where, "name");
    p.listen = r.Str(j, where, "listen");
    p.pm = r.Str(j, where, "pm");
    p.busy = r.U64(j, where, "busy_threads");
    p.idle = r.U64(j, where, "idle_threads");
    p.requests = r.U64(j, where, "requests");
    p.slow = r.U64(j, where, "slow_requests");
    p.terminated = r.U64(j, where, "terminated_requests");
    p.rejected = r.U64(j, where, "max_wait_rejected");
    if (const Json* rs = r.Field(j, where, "restarts")) {
      if (const Json* procs = r.Field(*rs, where + ".restarts", "processes")) {
        p.crashes = r.U64(*procs, where + ".restarts.processes", "crash");
      }
    }
    if (const Json* h = r.Field(j, where, "health")) p.failed = r.Str(*h, where + ".health", "state") == "failed";
    if (const Json* q = r.Field(j, where, "listen_queue"); q != nullptr && !q->is_null()) {
      p.listen_queue = r.U64(*q, where + ".listen_queue", "current");
      p.listen_queue_limit = r.U64(*q, where + ".listen_queue", "limit");
    }
    const Json& procs = r.Array(j, where, "processes");
    for (size_t k = 0; k < procs.size(); ++k) {
      p.processes.push_back(ReadProcess(r, procs[k], where + ".processes[" + std::to_string(k) + "]", p.name));
    }
    for (const TopProcess& proc : p.processes) {
      for (const TopThread& t : proc.threads) p.starting += t.state == "Starting";
    }
    s.pools.push_back(std::move(p));
  }
  const Json& previous = r.Array(reply, top, "previous_generations");
  for (size_t k = 0; k < previous.size(); ++k) {
    TopProcess proc =
        ReadProcess(r, previous[k], "status: previous_generations[" + std::to_string(k) + "]", "");
    proc.current = false;
    s.previous.push_back(std::move(proc));
  }
  if (!r.error().empty()) {
    const bool prefixed = r.error().rfind("status", 0) == 0;
    return Status::Protocol((prefixed ? "" : "status: ") + r.error());
  }
  return s;
}

TopFrame TopHistory::Add(const TopSample& sample, double seconds, const std::string& pool) {
  TopFrame f;
  f.sample = &sample;
  std::vector<const TopProcess*> all;
  for (const TopPool& p : sample.pools) {
    for (const TopProcess& proc : p.processes) all.push_back(&proc);
  }
  for (const TopProcess& proc : sample.previous) all.push_back(&proc);

  // Requests per second per pool: each process's new requests.
  std::map<int64_t, uint64_t> now_requests;
  std::map<std::string, uint64_t> new_requests;
  for (const TopProcess* proc : all) {
    now_requests[proc->pid] = proc->requests;
    auto it = process_requests_.find(proc->pid);
    const uint64_t before = it == process_requests_.end() ? 0 : it->second;
    new_requests[proc->pool] += proc->requests >= before ? proc->requests - before : proc->requests;
  }
  for (const TopPool& p : sample.pools) {
    if (first_ || seconds <= 0) {
      f.rates.emplace_back(std::nullopt);
    } else {
      f.rates.emplace_back(static_cast<double>(new_requests[p.name]) / seconds);
    }
  }
  process_requests_ = std::move(now_requests);

  // Running requests, and finished ones not recorded yet.
  std::map<std::pair<int64_t, uint64_t>, uint64_t> recorded;
  for (const TopProcess* proc : all) {
    const bool shown = pool.empty() || proc->pool == pool;
    for (const TopThread& t : proc->threads) {
      const auto key = std::make_pair(proc->pid, t.index);
      if (t.running && shown) {
        TopRequest req = RequestOn(*proc, t, t.duration_ms, t.method, t.uri);
        req.rss = proc->rss_bytes;
        f.busy.push_back(std::move(req));
      }
      if (!t.has_last) continue;
      recorded[key] = t.requests;
      auto seen = last_recorded_.find(key);
      if (seen != last_recorded_.end() && seen->second == t.requests) continue;
      if (!shown) continue;
      TopRequest req = RequestOn(*proc, t, t.last_duration_ms, t.last_method, t.last_uri);
      req.status = t.last_status;
      req.memory = t.last_memory;
      recent_.push_back(std::move(req));
    }
  }
  // Threads that are running now keep their last record, so the request
  // they finish next is recorded when they are seen idle again.
  for (const auto& [key, requests] : last_recorded_) recorded.emplace(key, requests);
  std::set<int64_t> live;
  for (const TopProcess* proc : all) live.insert(proc->pid);
  for (auto it = recorded.begin(); it != recorded.end();) {
    it = live.count(it->first.first) ? std::next(it) : recorded.erase(it);
  }
  last_recorded_ = std::move(recorded);

  auto slowest_first = [](const TopRequest& a, const TopRequest& b) { return a.duration_ms > b.duration_ms; };
  std::stable_sort(f.busy.begin(), f.busy.end(), slowest_first);
  std::stable_sort(recent_.begin(), recent_.end(), slowest_first);
  if (recent_.size() > keep_recent_) recent_.resize(keep_recent_);
  f.recent = recent_;
  first_ = false;
  return f;
}

}  // namespace tfpm::ctl
