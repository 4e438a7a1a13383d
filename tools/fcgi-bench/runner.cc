#include "tools/fcgi-bench/runner.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

#include "fastcgi/writer.h"
#include "tools/fcgi-bench/session.h"

namespace tfpm::bench {

namespace {

constexpr uint16_t kRequestId = 1;
constexpr size_t kReadBufferSize = 256 * 1024;
constexpr int kMaxEvents = 256;
constexpr uint64_t kConnectRetryNs = 10'000'000;  // back-off after a connect error
constexpr uint64_t kScanIntervalNs = 5'000'000;   // timeout / retry scan
constexpr int kPollMs = 10;

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t SecondsToNs(double s) { return static_cast<uint64_t>(s * 1e9); }

std::string Errno(std::string_view what, int error) {
  return std::string(what) + ": " + std::strerror(error);
}

// Starts a non-blocking connect. Returns the fd (>= 0) and sets *in_progress,
// or -1 with *error set.
int StartConnect(const Target& target, bool* in_progress, std::string* error) {
  *in_progress = false;
  const int fd = ::socket(target.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = Errno("socket", errno);
    return -1;
  }
  if (target.address.ss_family != AF_UNIX) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&target.address), target.length) == 0) {
    return fd;
  }
  if (errno == EINPROGRESS) {
    *in_progress = true;
    return fd;
  }
  // EAGAIN here is a full listen backlog of a Unix socket.
  *error = Errno("connect(" + target.description + ")", errno);
  ::close(fd);
  return -1;
}

// Shared by all client threads; read-only during the run except the atomics.
struct RunShared {
  const Options* options = nullptr;
  const Target* target = nullptr;
  std::string_view request;  // encoded, with FCGI_KEEP_CONN iff options->keep_conn
  uint64_t measure_start_ns = 0;
  uint64_t end_ns = UINT64_MAX;  // UINT64_MAX in request-count mode
  uint64_t timeout_ns = 0;
  bool count_mode = false;
  std::atomic<int64_t> tickets{0};  // measured requests left (count mode)
  const std::atomic<bool>* stop = nullptr;
};

class ClientThread {
 public:
  ClientThread(RunShared* shared, int connections) : shared_(shared) {
    conns_.reserve(static_cast<size_t>(connections));
    for (int i = 0; i < connections; ++i) {
      conns_.push_back(std::make_unique<Conn>(shared->request, shared->options->keep_conn,
                                              &shared->options->expect));
      conns_.back()->index = static_cast<uint32_t>(i);
    }
  }
  ~ClientThread() {
    for (auto& c : conns_) Close(*c);
    if (epfd_ >= 0) ::close(epfd_);
  }

  Status Init() {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) return ErrnoStatus("epoll_create1", errno);
    return Status::Ok();
  }

  void Run();

  Stats& stats() { return stats_; }
  uint64_t in_flight_at_end() const { return in_flight_at_end_; }
  uint64_t finished_at_ns() const { return finished_at_ns_; }

 private:
  enum class Phase { kIdle, kConnecting, kActive, kWaitRetry, kFinished };
  struct Conn {
    Conn(std::string_view request, bool keep_conn, const Expectation* expect)
        : session(request, kRequestId, keep_conn, expect) {}
    uint32_t index = 0;  // in conns_
    int fd = -1;
    uint32_t generation = 0;
    uint32_t events = 0;  // registered with epoll; 0 = not registered
    Phase phase = Phase::kIdle;
    Session session;
    uint64_t start_ns = 0;
    uint64_t deadline_ns = 0;
    uint64_t retry_at_ns = 0;
    bool measured = false;
  };

  void Begin(Conn& c, uint64_t now);
  void Connected(Conn& c, uint64_t now);
  void Write(Conn& c, uint64_t now);
  void Read(Conn& c, uint64_t now);
  void Complete(Conn& c, const Verdict& verdict, uint64_t now);
  void Fail(Conn& c, ErrorKind kind, std::string message, uint64_t now);
  void SetEvents(Conn& c, uint32_t events);
  void Close(Conn& c);
  void Scan(uint64_t now);

  RunShared* shared_;
  std::vector<std::unique_ptr<Conn>> conns_;
  int epfd_ = -1;
  Stats stats_;
  uint64_t in_flight_at_end_ = 0;
  uint64_t finished_at_ns_ = 0;
  std::unique_ptr<char[]> buffer_{new char[kReadBufferSize]};
};

void ClientThread::SetEvents(Conn& c, uint32_t events) {
  if (c.fd < 0 || c.events == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (uint64_t{c.generation} << 32) | c.index;
  ::epoll_ctl(epfd_, c.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
  c.events = events;
}

void ClientThread::Close(Conn& c) {
  if (c.fd >= 0) ::close(c.fd);  // also removes it from the epoll set
  c.fd = -1;
  c.events = 0;
  ++c.generation;
}

void ClientThread::Begin(Conn& c, uint64_t now) {
  if (now >= shared_->end_ns || shared_->stop->load(std::memory_order_relaxed)) {
    Close(c);
    c.phase = Phase::kFinished;
    return;
  }
  c.measured = now >= shared_->measure_start_ns;
  if (shared_->count_mode && c.measured &&
      shared_->tickets.fetch_sub(1, std::memory_order_relaxed) <= 0) {
    Close(c);
    c.phase = Phase::kFinished;
    return;
  }
  c.start_ns = now;
  c.deadline_ns = now + shared_->timeout_ns;
  c.session.Start();
  if (c.fd >= 0) {
    c.phase = Phase::kActive;
    Write(c, now);
    return;
  }
  bool in_progress = false;
  std::string error;
  c.fd = StartConnect(*shared_->target, &in_progress, &error);
  if (c.fd < 0) {
    Fail(c, ErrorKind::kConnect, std::move(error), now);
    return;
  }
  if (in_progress) {
    c.phase = Phase::kConnecting;
    SetEvents(c, EPOLLOUT);
    return;
  }
  Connected(c, now);
}

void ClientThread::Connected(Conn& c, uint64_t now) {
  ++stats_.connections_opened;
  c.phase = Phase::kActive;
  Write(c, now);
}

void ClientThread::Write(Conn& c, uint64_t now) {
  while (!c.session.PendingOutput().empty()) {
    const std::string_view out = c.session.PendingOutput();
    const ssize_t n = ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.session.Wrote(static_cast<size_t>(n));
      if (c.measured) stats_.bytes_written += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // Keep reading too: a server may answer before it has read everything.
      SetEvents(c, EPOLLIN | EPOLLOUT);
      return;
    }
    Fail(c, ErrorKind::kWrite,
         Errno("send (exchange " + std::to_string(c.session.exchanges()) + " on this connection)",
               errno),
         now);
    return;
  }
  SetEvents(c, EPOLLIN);
}

void ClientThread::Read(Conn& c, uint64_t now) {
  for (;;) {
    const ssize_t n = ::recv(c.fd, buffer_.get(), kReadBufferSize, 0);
    if (n > 0) {
      if (c.measured) stats_.bytes_read += static_cast<uint64_t>(n);
      const Outcome outcome = c.session.OnRead(std::string_view(buffer_.get(), static_cast<size_t>(n)));
      if (outcome.finished) {
        Complete(c, outcome.verdict, now);
        return;
      }
      // Level-triggered: a short read means the socket is (most likely)
      // drained; epoll reports the rest.
      if (static_cast<size_t>(n) < kReadBufferSize) return;
      continue;
    }
    if (n == 0) {
      Complete(c, c.session.OnEof().verdict, now);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    Fail(c, ErrorKind::kRead, Errno("recv", errno), now);
    return;
  }
}

void ClientThread::Complete(Conn& c, const Verdict& verdict, uint64_t now) {
  if (c.measured) stats_.Count(verdict, now - c.start_ns);
  const bool reuse = c.session.reusable();
  if (!reuse) Close(c);
  if (!verdict.ok) {
    // The next request starts from Scan: no recursion through Begin when
    // every attempt fails at once, and a back-off after connect errors.
    c.phase = Phase::kWaitRetry;
    c.retry_at_ns = now + (verdict.kind == ErrorKind::kConnect ? kConnectRetryNs : 0);
    return;
  }
  c.phase = Phase::kIdle;
  Begin(c, now);
}

void ClientThread::Fail(Conn& c, ErrorKind kind, std::string message, uint64_t now) {
  Verdict v;
  v.kind = kind;
  v.message = std::move(message);
  Close(c);  // the connection's state is unknown: never reuse it
  Complete(c, v, now);
}

void ClientThread::Scan(uint64_t now) {
  for (auto& cp : conns_) {
    Conn& c = *cp;
    if ((c.phase == Phase::kConnecting || c.phase == Phase::kActive) && now >= c.deadline_ns) {
      const double secs = static_cast<double>(now - c.start_ns) / 1e9;
      char what[64];
      std::snprintf(what, sizeof what, "%.3f", secs);
      std::string msg =
          c.phase == Phase::kConnecting
              ? std::string("connect not finished after ") + what + " s"
              : std::string("no END_REQUEST after ") + what + " s (" +
                    std::to_string(c.session.bytes_received()) + " response bytes; exchange " +
                    std::to_string(c.session.exchanges()) + " on this connection)";
      Fail(c, ErrorKind::kTimeout, std::move(msg), now);
    } else if (c.phase == Phase::kWaitRetry && now >= c.retry_at_ns) {
      c.phase = Phase::kIdle;
      Begin(c, now);
    }
  }
}

void ClientThread::Run() {
  uint64_t now = NowNs();
  for (auto& c : conns_) Begin(*c, now);
  epoll_event events[kMaxEvents];
  uint64_t next_scan = now + kScanIntervalNs;
  for (;;) {
    now = NowNs();
    if (now >= shared_->end_ns || shared_->stop->load(std::memory_order_relaxed)) break;
    if (shared_->count_mode) {
      const bool all_done = std::all_of(conns_.begin(), conns_.end(), [](const auto& c) {
        return c->phase == Phase::kFinished;
      });
      if (all_done) break;
    }
    int wait_ms = kPollMs;
    if (shared_->end_ns != UINT64_MAX) {
      const uint64_t left_ms = (shared_->end_ns - now + 999'999) / 1'000'000;
      wait_ms = static_cast<int>(std::min<uint64_t>(left_ms, kPollMs));
    }
    const int n = ::epoll_wait(epfd_, events, kMaxEvents, wait_ms);
    now = NowNs();
    for (int i = 0; i < n; ++i) {
      const uint64_t data = events[i].data.u64;
      const size_t index = static_cast<size_t>(data & 0xffffffffu);
      if (index >= conns_.size()) continue;
      Conn& c = *conns_[index];
      if (c.fd < 0 || c.generation != static_cast<uint32_t>(data >> 32)) continue;  // stale
      const uint32_t ev = events[i].events;
      if (c.phase == Phase::kConnecting) {
        int error = 0;
        socklen_t len = sizeof error;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &len);
        if (error != 0) {
          Fail(c, ErrorKind::kConnect, Errno("connect(" + shared_->target->description + ")", error),
               now);
        } else if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
          Connected(c, now);
        }
        continue;
      }
      if (c.phase != Phase::kActive) continue;
      if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        const uint32_t generation = c.generation;
        Read(c, now);
        // Read may have finished this exchange and started the next one.
        if (c.generation != generation || c.phase != Phase::kActive) continue;
      }
      if ((ev & EPOLLOUT) && !c.session.PendingOutput().empty()) Write(c, now);
    }
    if (now >= next_scan) {
      Scan(now);
      next_scan = now + kScanIntervalNs;
    }
  }
  finished_at_ns_ = NowNs();
  for (auto& c : conns_) {
    if (c->phase == Phase::kConnecting || c->phase == Phase::kActive) ++in_flight_at_end_;
    Close(*c);
  }
}

// Holds --idle-conns connections open for the whole run; see IdleMode.
class IdleHolder {
 public:
  IdleHolder(const Options& options, const Target& target, std::string_view kept_request,
             std::string_view begin_only)
      : options_(options), target_(target), kept_request_(kept_request), begin_only_(begin_only) {}
  ~IdleHolder() {
    Stop();
    for (auto& c : conns_) {
      if (c->fd >= 0) ::close(c->fd);
    }
    if (epfd_ >= 0) ::close(epfd_);
  }

  Status Start() {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) return ErrnoStatus("epoll_create1", errno);
    report_.requested = options_.idle_conns;
    for (int i = 0; i < options_.idle_conns; ++i) {
      conns_.push_back(std::make_unique<IdleConn>(kept_request_, &expect_any_));
    }
    try {
      thread_ = std::thread([this] { Loop(); });
    } catch (const std::system_error& e) {
      return Status::IoError(std::string("idle connection thread: ") + e.what());
    }
    return Status::Ok();
  }

  // Waits up to `settle_s` for every connection to be connected (and, in
  // kept mode, answered or failed).
  void Settle(double settle_s) {
    const uint64_t until = NowNs() + SecondsToNs(settle_s);
    const int n = options_.idle_conns;
    while (NowNs() < until) {
      const int connected = connected_.load() + failed_.load();
      const int answered = answered_.load() + failed_.load();
      if (connected >= n && (options_.idle_mode != IdleMode::kKept || answered >= n)) break;
      ::usleep(2000);
    }
    answered_before_load_ = answered_.load();
  }

  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  IdleReport Report() {
    Stop();
    IdleReport r = report_;
    r.connected = connected_.load();
    r.answered = answered_.load();
    r.failed = failed_.load();
    r.answered_before_load = answered_before_load_;
    r.open_at_end = 0;
    for (auto& c : conns_) {
      if (c->fd >= 0) ++r.open_at_end;
    }
    return r;
  }

 private:
  struct IdleConn {
    IdleConn(std::string_view request, const Expectation* expect)
        : session(request, kRequestId, true, expect) {}
    int fd = -1;
    bool connecting = false;
    bool answered = false;
    Session session;
  };

  void Error(IdleConn& c, std::string message) {
    if (report_.first_error.empty()) report_.first_error = std::move(message);
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    failed_.fetch_add(1);
  }

  void Send(IdleConn& c) {
    std::string_view out;
    if (options_.idle_mode == IdleMode::kKept) {
      c.session.Start();
      out = kept_request_;
    } else if (options_.idle_mode == IdleMode::kBegin) {
      out = begin_only_;
    }
    // Small enough for an empty socket buffer; a short write is an error.
    if (!out.empty()) {
      const ssize_t n = ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (n != static_cast<ssize_t>(out.size())) {
        Error(c, n < 0 ? Errno("idle send", errno) : "idle send: short write");
      }
    }
  }

  void Loop() {
    for (size_t i = 0; i < conns_.size(); ++i) {
      IdleConn& c = *conns_[i];
      std::string error;
      c.fd = StartConnect(target_, &c.connecting, &error);
      if (c.fd < 0) {
        Error(c, error);
        continue;
      }
      epoll_event ev{};
      ev.events = c.connecting ? EPOLLOUT : EPOLLIN;
      ev.data.u64 = i;
      ::epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
      if (!c.connecting) {
        connected_.fetch_add(1);
        Send(c);
      }
    }
    std::unique_ptr<char[]> buffer(new char[kReadBufferSize]);
    epoll_event events[kMaxEvents];
    while (!stop_.load()) {
      const int n = ::epoll_wait(epfd_, events, kMaxEvents, kPollMs);
      for (int i = 0; i < n; ++i) {
        IdleConn& c = *conns_[events[i].data.u64];
        if (c.fd < 0) continue;
        if (c.connecting) {
          int error = 0;
          socklen_t len = sizeof error;
          ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &len);
          if (error != 0) {
            Error(c, Errno("idle connect(" + target_.description + ")", error));
            continue;
          }
          c.connecting = false;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u64 = events[i].data.u64;
          ::epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
          connected_.fetch_add(1);
          Send(c);
          continue;
        }
        const ssize_t got = ::recv(c.fd, buffer.get(), kReadBufferSize, 0);
        if (got == 0) {
          ++report_.closed_by_server;
          ::close(c.fd);
          c.fd = -1;
          continue;
        }
        if (got < 0) {
          if (errno != EAGAIN && errno != EINTR) Error(c, Errno("idle recv", errno));
          continue;
        }
        if (options_.idle_mode == IdleMode::kKept && !c.answered) {
          const Outcome o = c.session.OnRead(std::string_view(buffer.get(), static_cast<size_t>(got)));
          if (o.finished) {
            c.answered = true;
            if (o.verdict.ok) {
              answered_.fetch_add(1);
            } else {
              Error(c, "idle request: " + o.verdict.message);
            }
          }
        } else {
          Error(c, "idle connection received " + std::to_string(got) + " unexpected bytes");
        }
      }
    }
  }

  const Options& options_;
  const Target& target_;
  std::string_view kept_request_;
  std::string_view begin_only_;
  Expectation expect_any_{0, std::nullopt, std::nullopt};
  std::vector<std::unique_ptr<IdleConn>> conns_;
  int epfd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connected_{0};
  std::atomic<int> answered_{0};
  std::atomic<int> failed_{0};
  int answered_before_load_ = 0;
  IdleReport report_;  // written by the loop thread only until Stop()
};

}  // namespace

Result<Target> ResolveTarget(const Options& options) {
  Target t;
  if (!options.unix_path.empty()) {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    if (options.unix_path.size() >= sizeof un.sun_path) {
      return Status::InvalidArgument("--unix: path longer than " +
                                     std::to_string(sizeof un.sun_path - 1) + " bytes");
    }
    std::memcpy(un.sun_path, options.unix_path.data(), options.unix_path.size());
    std::memcpy(&t.address, &un, sizeof un);
    t.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + options.unix_path.size() + 1);
    t.description = "unix:" + options.unix_path;
    return t;
  }
  const std::string& spec = options.tcp;
  std::string host, port;
  if (!spec.empty() && spec.front() == '[') {
    const size_t close = spec.find("]:");
    if (close == std::string::npos) return Status::InvalidArgument("--tcp: expected [IPv6]:PORT");
    host = spec.substr(1, close - 1);
    port = spec.substr(close + 2);
  } else {
    const size_t colon = spec.rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument("--tcp: expected HOST:PORT");
    host = spec.substr(0, colon);
    port = spec.substr(colon + 1);
  }
  if (host.empty() || port.empty()) return Status::InvalidArgument("--tcp: expected HOST:PORT");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    return Status::InvalidArgument("--tcp " + spec + ": " + ::gai_strerror(rc));
  }
  std::memcpy(&t.address, result->ai_addr, result->ai_addrlen);
  t.length = result->ai_addrlen;
  ::freeaddrinfo(result);
  t.description = "tcp:" + spec;
  return t;
}

Result<RunReport> RunLoad(const Options& options, const Target& target, const ParamList& params,
                          std::string_view body, const std::atomic<bool>* stop) {
  const std::string request = EncodeRequest(params, body, kRequestId, options.keep_conn);
  const std::string kept_request = EncodeRequest(params, body, kRequestId, true);
  std::string begin_only;
  fastcgi::AppendBeginRequest(kRequestId, fastcgi::Role::kResponder, fastcgi::kFlagKeepConn,
                              &begin_only);

  RunReport report;
  report.target = target.description;

  std::unique_ptr<IdleHolder> idle;
  if (options.idle_conns > 0) {
    idle = std::make_unique<IdleHolder>(options, target, kept_request, begin_only);
    Status s = idle->Start();
    if (!s.ok()) return s;
    idle->Settle(options.idle_settle_s);
  }

  RunShared shared;
  shared.options = &options;
  shared.target = &target;
  shared.request = request;
  shared.timeout_ns = SecondsToNs(options.timeout_s);
  shared.stop = stop;
  shared.count_mode = options.requests > 0;
  shared.tickets.store(static_cast<int64_t>(options.requests));

  const int threads = std::max(1, std::min(options.threads, options.connections));
  std::vector<std::unique_ptr<ClientThread>> clients;
  for (int i = 0; i < threads; ++i) {
    const int share = options.connections / threads + (i < options.connections % threads ? 1 : 0);
    clients.push_back(std::make_unique<ClientThread>(&shared, share));
    Status s = clients.back()->Init();
    if (!s.ok()) return s;
  }

  const uint64_t start = NowNs();
  shared.measure_start_ns = start + SecondsToNs(options.warmup_s);
  if (!shared.count_mode) shared.end_ns = shared.measure_start_ns + SecondsToNs(options.duration_s);

  std::vector<std::thread> running;
  Status failed;
  try {
    for (auto& c : clients) running.emplace_back([&c] { c->Run(); });
  } catch (const std::system_error& e) {
    failed = Status::IoError(std::string("client thread: ") + e.what());
    // Threads already started stop at the end of the window; wait for them.
  }
  for (auto& t : running) t.join();
  if (!failed.ok()) return failed;

  uint64_t finished = 0;
  for (auto& c : clients) {
    Status s = report.stats.Merge(c->stats());
    if (!s.ok()) return s;
    report.in_flight_at_end += c->in_flight_at_end();
    finished = std::max(finished, c->finished_at_ns());
  }
  const uint64_t window_end = shared.count_mode ? finished : std::min(finished, shared.end_ns);
  report.measured_s = window_end > shared.measure_start_ns
                          ? static_cast<double>(window_end - shared.measure_start_ns) / 1e9
                          : 0;
  report.warmup_s = options.warmup_s;
  if (idle) report.idle = idle->Report();
  return report;
}

}  // namespace tfpm::bench
