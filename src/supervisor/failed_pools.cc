// The Supervisor's side of pool health (pool_health.h): counting a pool's
// quick failures, marking it failed and recovered, and answering a failed
// pool's connections itself while no worker of it is ready
// (unavailable_answerer.h). Members of Supervisor, kept out of
// supervisor.cc so that file keeps to the event loop and generations.
#include "base/client_filter.h"
#include "base/log.h"
#include "base/rate_limit.h"
#include "supervisor/supervisor.h"

namespace tfpm::supervisor {
namespace {

double SecondsBetween(os::TimePoint from, os::TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}

}  // namespace

std::optional<os::TimePoint> Supervisor::OldestReady(const Pool& pool) const {
  std::optional<os::TimePoint> oldest;
  for (const auto& [pid, w] : workers_) {
    if (w->pool != pool.config.name || w->state != Worker::State::kReady || !w->ready_at) continue;
    if (!oldest || *w->ready_at < *oldest) oldest = w->ready_at;
  }
  return oldest;
}

bool Supervisor::HasReadyWorker(const std::shared_ptr<Listener>& listener) const {
  for (const auto& [pid, w] : workers_) {
    if (w->listener == listener && w->state == Worker::State::kReady) return true;
  }
  return false;
}

void Supervisor::OnWorkerFailure(Pool& pool, const Worker& w, const std::string& how, os::TimePoint now) {
  if (pool.health.OnUnexpectedExit(w.ready_at, now) != PoolHealth::Change::kFailed) return;
  const auto& limits = pool.health.limits();
  log::Alert("[pool {}] failed: {} workers in a row exited less than failure_window ({} ms) after they became "
             "ready (last: child {} {}); its connections are answered 503 by the supervisor while no worker is "
             "ready; restarting with backoff until one stays up for {} ms",
             pool.config.name, limits.threshold, limits.window.count(), w.pid, how, limits.window.count());
  if (options_.notify) SendStatusLine();
}

void Supervisor::UpdatePoolHealth() {
  const os::TimePoint now = clock_->Now();
  answerer_->Expire(now);
  std::map<int, Answering> wanted;
  for (Pool& pool : pools_) {
    if (pool.health.OnTick(OldestReady(pool), now) == PoolHealth::Change::kRecovered) {
      log::Notice("[pool {}] recovered: a worker has been up for failure_window ({} ms); {} connection(s) were "
                  "answered 503 while it was failed",
                  pool.config.name, pool.health.limits().window.count(), pool.unavailable_answers);
      if (options_.notify) SendStatusLine();
    }
    if (pool.answers_unlogged > 0 && now - pool.answers_logged_at >= kAnswerLogInterval) {
      log::Warning("[pool {}] failed: answered {} connection(s) with 503 in the last {:.0f} s", pool.config.name,
                   pool.answers_unlogged, SecondsBetween(pool.answers_logged_at, now));
      pool.answers_unlogged = 0;
      pool.answers_logged_at = now;
    }
    if (stop_mode_ != StopMode::kNone || !pool.health.failed() || !pool.listener) continue;
    if (HasReadyWorker(pool.listener)) continue;  // a worker serves; it may be the one that recovers
    auto it = answering_.find(pool.listener->fd.get());
    if (it != answering_.end()) {
      wanted.emplace(it->first, it->second);
      continue;
    }
    // The pool's listen_allowed_clients hold while it is failed too.
    auto clients = base::ClientFilter::Parse(pool.config.listen_allowed_clients);
    if (!clients.ok()) continue;  // validated at load: cannot happen; never answer unfiltered
    wanted.emplace(pool.listener->fd.get(),
                   Answering{pool.listener, pool.config.name,
                             std::make_shared<const std::string>("tfpm: pool " + pool.config.name +
                                                                 " has failed: its workers do not stay up"),
                             std::make_shared<const base::ClientFilter>(std::move(clients.value()))});
  }
  // Watch the listening sockets of the pools to answer while there is room
  // for another connection; stop watching the others.
  const bool room = answerer_->CanAccept(now);
  for (auto it = answering_.begin(); it != answering_.end();) {
    if (room && wanted.count(it->first)) {
      ++it;
      continue;
    }
    poller_->Remove(it->first);
    it = answering_.erase(it);
  }
  if (!room) return;
  for (auto& [fd, a] : wanted) {
    if (answering_.count(fd)) continue;
    if (poller_->Add(fd, EPOLLIN, kFailedListenToken | static_cast<uint64_t>(fd)).ok()) answering_.emplace(fd, a);
  }
}

void Supervisor::AnswerUnavailable(int listen_fd) {
  auto it = answering_.find(listen_fd);
  if (it == answering_.end()) return;
  std::vector<std::string> refused;
  const int n = answerer_->AcceptFrom(listen_fd, it->second.why, clock_->Now(), it->second.clients.get(), &refused);
  Pool* pool = FindPool(it->second.pool);
  if (pool != nullptr && !refused.empty()) {
    pool->counters->retired_limits[static_cast<size_t>(scoreboard::Limit::kClientsRefused)] += refused.size();
    static base::RateLimit limit;  // the loop thread only
    for (const std::string& peer : refused) {
      uint64_t dropped = 0;
      if (!limit.Allow(&dropped)) continue;
      log::Warning("[pool {}] connection refused: client {} is not in listen_allowed_clients{}", pool->config.name,
                   peer, dropped > 0 ? fmt::format(" ({} more like it in the last second not logged)", dropped)
                                     : std::string());
    }
  }
  if (pool == nullptr || n <= 0) return;
  pool->unavailable_answers += static_cast<uint64_t>(n);
  pool->answers_unlogged += static_cast<uint64_t>(n);
  // At most one line per kAnswerLogInterval (UpdatePoolHealth logs the rest).
  const os::TimePoint now = clock_->Now();
  if (now - pool->answers_logged_at < kAnswerLogInterval) return;
  log::Warning("[pool {}] failed: answered {} connection(s) with 503", pool->config.name, pool->answers_unlogged);
  pool->answers_unlogged = 0;
  pool->answers_logged_at = now;
}

control::Json Supervisor::PoolHealthJson(const Pool& pool, os::TimePoint now) const {
  const PoolHealth& h = pool.health;
  control::Json out{{"state", h.failed() ? "failed" : "ok"},
                    {"quick_failures", h.quick_failures()},
                    {"failure_threshold", h.limits().threshold},
                    {"times_failed", h.times_failed()},
                    {"unavailable_answers", pool.unavailable_answers}};
  if (!pool.config.status_listen.empty()) out["status_listen"] = StatusListenJson(pool);
  if (h.failed()) {
    out["failed_for_s"] = SecondsBetween(*h.failed_since(), now);
    out["answering"] = answering_.count(pool.listener->fd.get()) > 0;
  }
  return out;
}

}  // namespace tfpm::supervisor
