// The pools' status listeners (`status_listen`; status_listen.h decides,
// status_server.h does the I/O): opened, kept across reloads (the same
// address keeps the same socket and its connections), closed with their
// pool; and the answers, computed from what the supervisor knows (the
// scoreboards, the listen queue, pool health), without PHP. Supervisor
// members, kept out of supervisor.cc.
#include <ctime>
#include <set>

#include "base/client_filter.h"
#include "base/log.h"
#include "os/directories.h"
#include "status/render.h"
#include "supervisor/supervisor.h"
#include "supervisor/supervisor_internal.h"

namespace tfpm::supervisor {
namespace {

StatusListenLimits LimitsOf(const config::PoolConfig& pc) {
  StatusListenLimits l;
  l.max_clients = static_cast<size_t>(pc.status_listen_max_clients);
  l.timeout = pc.status_listen_timeout;
  l.max_request_bytes = pc.status_listen_max_request;
  return l;
}

StatusAnswer FromPage(status::Page page) {
  StatusAnswer a;
  a.status = page.status;
  a.headers = std::move(page.headers);
  a.body = std::move(page.body);
  return a;
}

}  // namespace

Status Supervisor::SyncStatusListeners() {
  if (!status_server_) return Status::Ok();
  Status first = Status::Ok();
  std::set<std::string> wanted;
  for (const Pool& pool : pools_) {
    const config::PoolConfig& pc = pool.config;
    if (pc.status_listen.empty()) continue;
    auto address = os::ParseListenAddress(pc.status_listen);
    if (!address.ok()) {  // validated at load: cannot happen
      if (first.ok()) first = Status::InvalidArgument("pool " + pc.name + ": status_listen: " + address.status().message());
      continue;
    }
    auto clients = base::ClientFilter::Parse(pc.listen_allowed_clients);
    if (!clients.ok()) continue;  // validated at load; never serve unfiltered
    auto filter = std::make_shared<const base::ClientFilter>(std::move(clients.value()));
    wanted.insert(pc.name);
    std::shared_ptr<Listener> listener = status_server_->ListenerOf(pc.name);
    if (!listener || !(listener->address == *address)) {
      // The old socket (another address) goes first, so a pool that moves
      // its status listener never holds both.
      status_server_->Stop(pc.name);
      auto fd = ListenAsPool(pc, *address, "status_listen: ");
      if (!fd.ok()) {
        if (first.ok()) first = fd.status();
        continue;
      }
      listener = std::make_shared<Listener>();
      listener->address = *address;
      listener->fd = std::move(fd.value());
      log::Notice("pool {}: status listener on {} (served by the supervisor)", pc.name, address->ToString());
    }
    status_server_->Serve(pc.name, std::move(listener), LimitsOf(pc), std::move(filter));
  }
  for (const std::string& pool : status_server_->Pools()) {
    if (wanted.count(pool) == 0) status_server_->Stop(pool);
  }
  return first;
}

std::string Supervisor::AnswerStatusListen(const std::string& pool_name, std::span<const FcgiParam> params) {
  const bool head = ParamValue(params, "REQUEST_METHOD") == "HEAD";
  Pool* pool = FindPool(pool_name);
  if (pool == nullptr || !pool->listener) return CgiBytes(PlainAnswer(503, "pool not available\n"), head);
  const config::PoolConfig& pc = pool->config;
  const StatusRoute route = RouteRequest(RequestPath(params), PathsFor(pc.status_path, pc.ping_path));
  const std::string_view query = ParamValue(params, "QUERY_STRING");
  const os::TimePoint now = clock_->Now();
  try {
    switch (route) {
      case StatusRoute::kNotFound: return CgiBytes(PlainAnswer(404, "Not Found\n"), head);
      case StatusRoute::kPing: {
        StatusAnswer a = PlainAnswer(200, pc.ping_response + "\n");
        a.headers.push_back("Expires: Thu, 01 Jan 1970 00:00:00 GMT");
        return CgiBytes(a, head);
      }
      case StatusRoute::kStatus:
      case StatusRoute::kMetrics: {
        status::Query q = status::ParseQueryString(query);
        const bool prometheus = route == StatusRoute::kMetrics && q.format != status::Format::kOpenMetrics;
        if (route == StatusRoute::kMetrics) q = status::Query{status::Format::kOpenMetrics, false};
        const int64_t now_us = scoreboard::RealtimeMicros();
        ipc::PoolStatus st = CollectPoolStatus(PoolInfoOf(*pool), *pool->counters, PoolSegments(pc.name),
                                               ReadListenQueue(pool->listener->fd.get()), q.full, now_us);
        AddProcessMemory(*pool, &st);
        status::Page page = status::Render(st, q, now_us / 1000000, head);
        if (prometheus) {
          page.body = PrometheusText(page.body);
          for (std::string& h : page.headers) {
            if (h.starts_with("Content-Type:")) h = std::string(kPrometheusContentType);
          }
        }
        return CgiBytes(FromPage(std::move(page)), false);  // Render left the body out for HEAD
      }
      case StatusRoute::kReady: {
        const ProbeVerdict v = DecideReadiness(ReadinessOf(*pool, now));
        return CgiBytes(PlainAnswer(v.ok ? 200 : 503, v.ok ? "ready\n" : "not ready: " + v.reason + "\n"), head);
      }
      case StatusRoute::kLive: {
        const ProbeVerdict v = DecideLiveness(LivenessOf(*pool));
        return CgiBytes(PlainAnswer(v.ok ? 200 : 503, v.ok ? "alive\n" : "not alive: " + v.reason + "\n"), head);
      }
    }
  } catch (const std::exception& e) {
    Survived("a status_listen request", e);
  }
  return CgiBytes(FromPage(status::InternalError()), head);
}

PoolInfo Supervisor::PoolInfoOf(const Pool& pool) {
  PoolInfo info;
  info.name = pool.config.name;
  info.process_manager = pool.config.pm == config::ProcessManager::kDynamic    ? "dynamic"
                         : pool.config.pm == config::ProcessManager::kOndemand ? "ondemand"
                                                                                : "static";
  return info;
}

// max_wait_time's 503s of the pool in all (exited and live processes).
uint64_t Supervisor::ShedTotal(const Pool& pool) const {
  uint64_t total = pool.counters->retired_rejected;
  for (const scoreboard::Segment& seg : PoolSegments(pool.config.name)) {
    total += seg.header()->rejected_requests.load(std::memory_order_relaxed);
  }
  return total;
}

void Supervisor::NoteShed(const Pool& pool, os::TimePoint now) {
  if (pool.config.max_wait_time.count() <= 0) return;
  ShedSeen& s = shed_seen_[pool.config.name];
  const uint64_t total = ShedTotal(pool);
  if (total > s.total) s.at = now;
  s.total = total;
}

ReadinessInput Supervisor::ReadinessOf(const Pool& pool, os::TimePoint now) {
  ReadinessInput in;
  in.failed = pool.health.failed();
  in.draining = stop_mode_ != StopMode::kNone || pool.listener->stopped;
  in.stopping_soon = drain_at_.has_value();
  in.serving = HasReadyWorker(pool.listener);
  const ListenQueue q = ReadListenQueue(pool.listener->fd.get());
  in.backlog_known = q.known;
  in.backlog = q.current;
  in.max_backlog = pool.config.status_ready_backlog > 0
                       ? static_cast<uint64_t>(pool.config.status_ready_backlog)
                       : static_cast<uint64_t>(pool.config.processes) * static_cast<uint64_t>(pool.config.threads);
  if (pool.config.max_wait_time.count() > 0) {
    NoteShed(pool, now);
    const ShedSeen& s = shed_seen_[pool.config.name];
    in.shed_recently = s.at != os::TimePoint{} && now - s.at < kShedWindow;
  }
  return in;
}

LivenessInput Supervisor::LivenessOf(const Pool& pool) const {
  LivenessInput in;
  in.failed = pool.health.failed();
  const int64_t now_us = scoreboard::RealtimeMicros();
  const auto rtt = pool.config.request_terminate_timeout;
  const int64_t overrun_us =
      std::chrono::duration_cast<std::chrono::microseconds>(rtt + kOverrunGrace).count();
  for (const auto& [pid, w] : workers_) {
    if (w->pool != pool.config.name || !w->board || w->state == Worker::State::kStopping) continue;
    ++in.processes;
    scoreboard::Segment seg(w->board->data(), w->board->size(), w->pid);
    if (!seg.Valid()) {
      ++in.garbled;
      continue;
    }
    if (rtt.count() <= 0) continue;
    for (uint32_t t = 0, n = seg.Threads(); t < n; ++t) {
      scoreboard::ThreadSnapshot snap;
      if (!scoreboard::ReadSlot(*seg.slot(t), &snap)) continue;
      if (scoreboard::Classify(snap.state) != scoreboard::ThreadClass::kActive) continue;
      if (snap.request_start_us > 0 && now_us - snap.request_start_us > overrun_us) ++in.overrun;
    }
  }
  return in;
}

control::Json Supervisor::StatusListenJson(const Pool& pool) const {
  if (!status_server_ || pool.config.status_listen.empty()) return nullptr;
  std::shared_ptr<Listener> l = status_server_->ListenerOf(pool.config.name);
  const StatusListenCounters c = status_server_->counters(pool.config.name);
  return control::Json{{"address", l ? l->address.ToString() : std::string()},
                       {"serving", l != nullptr},
                       {"accepted", c.accepted},
                       {"answered", c.answered},
                       {"refused_full", c.refused_full},
                       {"refused_clients", c.refused_clients},
                       {"timed_out", c.timed_out},
                       {"too_large", c.too_large},
                       {"protocol_errors", c.protocol},
                       {"accept_errors", c.accept_errors}};
}

}  // namespace tfpm::supervisor
