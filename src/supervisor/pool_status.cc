#include "supervisor/pool_status.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/utf8.h"
#include "os/unique_fd.h"
#include "scoreboard/request_metrics.h"

namespace tfpm::supervisor {
namespace {

using scoreboard::ThreadSnapshot;
using scoreboard::ThreadState;

bool Counted(ThreadState s, bool* idle) {
  switch (scoreboard::Classify(s)) {
    case scoreboard::ThreadClass::kIdle: *idle = true; return true;
    case scoreboard::ThreadClass::kActive: *idle = false; return true;
    default: return false;  // starting, stopped, failed: neither idle nor active
  }
}

// The length and limit of a listening unix socket's queue, from the
// kernel's sock_diag (UNIX_DIAG_RQLEN: pending connections and backlog).
bool UnixListenQueue(int fd, ListenQueue* q) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return false;
  os::UniqueFd nl(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (!nl) return false;
  struct {
    nlmsghdr nh;
    unix_diag_req req;
  } msg{};
  msg.nh.nlmsg_len = sizeof(msg);
  msg.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nh.nlmsg_flags = NLM_F_REQUEST;
  msg.req.sdiag_family = AF_UNIX;
  msg.req.udiag_states = ~0u;
  msg.req.udiag_ino = static_cast<uint32_t>(st.st_ino);
  msg.req.udiag_show = UDIAG_SHOW_RQLEN;
  msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = ~0u;  // INET_DIAG_NOCOOKIE
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(nl.get(), &msg, sizeof(msg), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
    return false;
  }
  alignas(nlmsghdr) char buf[1024];
  ssize_t n;
  do n = ::recv(nl.get(), buf, sizeof(buf), 0); while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n)); h = NLMSG_NEXT(h, n)) {
    if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) return false;  // NLMSG_ERROR
    auto* m = static_cast<unix_diag_msg*>(NLMSG_DATA(h));
    int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
    for (auto* a = reinterpret_cast<rtattr*>(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      if (a->rta_type != UNIX_DIAG_RQLEN || RTA_PAYLOAD(a) < sizeof(unix_diag_rqlen)) continue;
      unix_diag_rqlen rq;
      std::memcpy(&rq, RTA_DATA(a), sizeof(rq));
      q->current = rq.udiag_rqueue;
      q->limit = rq.udiag_wqueue;
      return true;
    }
  }
  return false;
}

}  // namespace

void PoolCounters::Retire(const scoreboard::Segment& seg) {
  const scoreboard::Header* h = seg.header();
  retired_slow += h->slow_requests.load(std::memory_order_relaxed);
  retired_terminated += h->terminated_requests.load(std::memory_order_relaxed);
  retired_rejected += h->rejected_requests.load(std::memory_order_relaxed);
  retired_memory_recycles += h->memory_recycles.load(std::memory_order_relaxed);
  retired_idle_trims += h->idle_trims.load(std::memory_order_relaxed);
  for (size_t i = 0; i < scoreboard::kLimitCount; ++i) retired_limits[i] += h->Read(scoreboard::Limit(i));
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) retired_restarts[i] += h->ReadRestarts(base::RestartCause(i));
  retired_state_leaks += h->state_leaks.load(std::memory_order_relaxed);
  retired_request_stats.Add(scoreboard::SumRequestStats(seg));
  for (uint32_t t = 0, n = seg.Threads(); t < n; ++t) {
    ThreadSnapshot snap;
    if (!scoreboard::ReadSlot(*seg.slot(t), &snap)) continue;
    retired_requests += snap.requests;
    retired_memory_peak = std::max(retired_memory_peak, snap.memory_peak);
  }
}

ListenQueue ReadListenQueue(int fd) {
  ListenQueue q;
  sockaddr_storage addr{};
  socklen_t alen = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen) != 0) return q;
  if (addr.ss_family == AF_UNIX) {
    q.known = UnixListenQueue(fd, &q);
    return q;
  }
  // php-fpm's fpm_socket_get_listening_queue(): for a listening TCP socket
  // the kernel reports the accept queue in tcpi_unacked and its limit in
  // tcpi_sacked.
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 || info.tcpi_sacked == 0) return q;
  q.current = info.tcpi_unacked;
  q.limit = info.tcpi_sacked;
  q.known = true;
  return q;
}

Occupancy CountThreads(const std::vector<scoreboard::Segment>& segments) {
  Occupancy o;
  for (const scoreboard::Segment& seg : segments) {
    for (uint32_t t = 0, n = seg.Threads(); t < n; ++t) {
      ThreadSnapshot snap;
      bool idle = false;
      if (!scoreboard::ReadSlot(*seg.slot(t), &snap) || !Counted(snap.state, &idle)) continue;
      (idle ? o.idle : o.active) += 1;
    }
  }
  return o;
}

void Sample(PoolCounters* c, const Occupancy& o, const ListenQueue& q, uint64_t capacity) {
  c->max_listen_queue = std::max(c->max_listen_queue, q.current);
  c->max_active = std::max(c->max_active, o.active);
  const bool saturated = o.active > 0 && o.idle == 0 && o.active >= capacity;
  if (saturated && !c->saturated) ++c->max_children_reached;
  c->saturated = saturated;
}

ipc::PoolStatus CollectPoolStatus(const PoolInfo& info, const PoolCounters& c,
                                  const std::vector<scoreboard::Segment>& segments, const ListenQueue& q, bool full,
                                  int64_t now_us) {
  ipc::PoolStatus out;
  out.pool = info.name;
  out.process_manager = info.process_manager;
  out.start_time = c.start_epoch;
  out.accepted_conn = c.retired_requests;
  out.slow_requests = c.retired_slow;
  out.memory_peak = c.retired_memory_peak;
  out.terminated_requests = c.retired_terminated;
  out.rejected_requests = c.retired_rejected;
  out.memory_recycles = c.retired_memory_recycles;
  out.idle_trims = c.retired_idle_trims;
  for (size_t i = 0; i < scoreboard::kLimitCount; ++i) out.limits[i] = c.retired_limits[i];
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) out.restarts[i] = c.retired_restarts[i];
  out.state_leaks = c.retired_state_leaks;
  out.full = full;
  for (const scoreboard::Segment& seg : segments) {
    const scoreboard::Header* h = seg.header();
    out.slow_requests += h->slow_requests.load(std::memory_order_relaxed);
    out.terminated_requests += h->terminated_requests.load(std::memory_order_relaxed);
    out.rejected_requests += h->rejected_requests.load(std::memory_order_relaxed);
    out.memory_recycles += h->memory_recycles.load(std::memory_order_relaxed);
    out.idle_trims += h->idle_trims.load(std::memory_order_relaxed);
    for (size_t i = 0; i < scoreboard::kLimitCount; ++i) out.limits[i] += h->Read(scoreboard::Limit(i));
    for (size_t i = 0; i < base::kRestartCauseCount; ++i) {
      out.restarts[i] += h->ReadRestarts(base::RestartCause(i));
    }
    out.state_leaks += h->state_leaks.load(std::memory_order_relaxed);
    // The process's requests in all (every thread, every interpreter): a
    // row shows them next to the process's start time, so recycling is
    // visible.
    uint64_t process_requests = 0;
    for (uint32_t t = 0, n = seg.Threads(); t < n; ++t) {
      ThreadSnapshot s;
      if (scoreboard::ReadSlot(*seg.slot(t), &s)) process_requests += s.requests;
    }
    for (uint32_t t = 0, n = seg.Threads(); t < n; ++t) {
      ThreadSnapshot s;
      if (!scoreboard::ReadSlot(*seg.slot(t), &s)) continue;
      out.accepted_conn += s.requests;
      out.memory_peak = std::max(out.memory_peak, s.memory_peak);
      bool is_idle = false;
      if (Counted(s.state, &is_idle)) (is_idle ? out.idle_processes : out.active_processes) += 1;
      if (!full || s.state == ThreadState::kStopped) continue;
      // Client bytes (URI, query, Authorization user) are any bytes; JSON
      // needs UTF-8 (base/utf8.h).
      // As php-fpm: an idle thread shows its last request, with that
      // request's duration, CPU and memory; a busy one the current request
      // and the time it has run so far.
      const bool running = s.request_start_us != 0 && !is_idle;
      ipc::ThreadRow r;
      r.pid = seg.Pid();
      r.thread = t;
      r.state = std::string(scoreboard::ThreadStateName(s.state));
      r.start_time = s.start_us / 1000000;
      r.requests = s.requests;
      r.process_start_time = h->start_time_us / 1000000;
      r.process_requests = process_requests;
      r.request_duration = running ? std::max<int64_t>(0, now_us - s.request_start_us) : s.last_duration_us;
      r.request_method = base::ValidUtf8(s.method);
      r.request_uri = base::ValidUtf8(s.script_name);
      r.query_string = base::ValidUtf8(s.query);
      r.content_length = s.content_length;
      r.user = running ? std::string() : base::ValidUtf8(s.user);
      r.script = base::ValidUtf8(s.script);
      r.last_request_cpu = !running && s.last_duration_us > 0 ? static_cast<double>(s.last_cpu_us) /
                                                                    static_cast<double>(s.last_duration_us) * 100.0
                                                              : 0.0;
      r.last_request_memory = running ? 0 : s.last_memory;
      out.processes.push_back(std::move(r));
    }
  }
  out.listen_queue = q.current;
  out.max_listen_queue = std::max(c.max_listen_queue, q.current);
  out.listen_queue_len = q.limit;
  out.max_active_processes = std::max(c.max_active, out.active_processes);
  out.max_children_reached = c.max_children_reached;
  out.process_recycles_max_requests = c.recycles_max_requests;
  out.process_recycles_memory = c.recycles_memory;
  for (size_t i = 0; i < base::kRestartCauseCount; ++i) out.process_restarts[i] = c.process_restarts[i];
  // Request duration and queue wait histograms, requests by status class.
  nlohmann::json metrics = nlohmann::json::object();
  scoreboard::AddRequestMetrics(&metrics, c.retired_request_stats, segments);
  out.request_metrics = std::move(metrics);
  return out;
}

nlohmann::json PoolStatus(const PoolInfo& info, const PoolCounters& c,
                          const std::vector<scoreboard::Segment>& segments, const ListenQueue& q, bool full,
                          int64_t now_us) {
  return ipc::ToJson(CollectPoolStatus(info, c, segments, q, full, now_us));
}

}  // namespace tfpm::supervisor
