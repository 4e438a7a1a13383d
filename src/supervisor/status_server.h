// StatusServer: the supervisor's FastCGI responder on the pools' status
// listeners (`status_listen`; the decisions are in status_listen.h), inside
// its single-threaded event loop, without PHP. A sibling of
// UnavailableAnswerer, and like it, it never blocks on a client:
//  - every socket is non-blocking; at most kAcceptsPerWake connections are
//    accepted per wake-up, so a flood cannot starve the loop;
//  - at most `max_clients` connections per listener are held; one more is
//    closed right after accept (counted: refused_full);
//  - a connection must complete its next request within `timeout` of its
//    accept (or of its previous answer): a slow client is closed then
//    (counted: timed_out), a slowloris holds a slot at most that long;
//  - the bytes received for one request (its records, from the accept or
//    the previous answer) are capped at max_request_bytes,
//    answers left unread at kMaxUnsentOutput (counted: too_large); a
//    protocol error closes (counted: protocol);
//  - accept() failing for lack of descriptors pauses that listener for
//    kExhaustedPause instead of spinning on the readable socket.
// Each trip is logged at most once a second per kind (base::RateLimit) with
// the count of those not logged. The FastCGI side is fastcgi::ServerSession;
// the answer is computed at once (the supervisor has the data) and sent
// as far as the socket takes it; the rest waits for EPOLLOUT.
//
// Not thread-safe: the supervisor's loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/client_filter.h"
#include "base/rate_limit.h"
#include "fastcgi/server_session.h"
#include "os/clock.h"
#include "os/poller.h"
#include "os/unique_fd.h"
#include "supervisor/listener.h"
#include "supervisor/status_listen.h"

namespace tfpm::supervisor {

// What a status listener did, for pm-ctl status (its pool's "status_listen").
struct StatusListenCounters {
  uint64_t accepted = 0, answered = 0;
  uint64_t refused_full = 0;     // over max_clients
  uint64_t refused_clients = 0;  // not in listen_allowed_clients
  uint64_t timed_out = 0;        // no complete request within timeout
  uint64_t too_large = 0;        // over max_request_bytes
  uint64_t protocol = 0;         // not FastCGI as a web server sends it
  uint64_t accept_errors = 0;    // accept() failed for lack of descriptors
};

class StatusServer {
 public:
  // The CGI answer (status_listen.h CgiBytes) to a request of `pool`.
  using Handler = std::function<std::string(const std::string& pool, std::span<const FcgiParam> params)>;
  static constexpr int kAcceptsPerWake = 64;
  static constexpr std::chrono::milliseconds kExhaustedPause{500};
  // Answers a client has not read (pipelined requests on a kept
  // connection): beyond this it is closed (counted: too_large).
  static constexpr size_t kMaxUnsentOutput = 4 << 20;

  // Listening sockets are registered in `poller` under `listen_token | fd`,
  // clients under `client_token | fd`.
  StatusServer(os::Poller* poller, uint64_t listen_token, uint64_t client_token, Handler handler);
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  // Serves `listener` for `pool` (replacing what was served for that pool;
  // its connections are kept when the socket is the same). `clients`: the
  // pool's listen_allowed_clients (null = any).
  void Serve(const std::string& pool, std::shared_ptr<Listener> listener, const StatusListenLimits& limits,
             std::shared_ptr<const base::ClientFilter> clients);
  // Stops serving `pool`: its socket is closed (when nobody else holds it)
  // and its connections with it.
  void Stop(const std::string& pool);
  // The socket served for `pool`, or null.
  std::shared_ptr<Listener> ListenerOf(const std::string& pool) const;
  // The pools served.
  std::vector<std::string> Pools() const;

  void OnListenEvent(int listen_fd, os::TimePoint now);
  void OnClientEvent(int fd, uint32_t events, os::TimePoint now);
  // Closes the connections whose time is over; ends accept pauses.
  void Expire(os::TimePoint now);
  std::optional<os::TimePoint> NextDeadline() const;

  // Counters of `pool`'s listener (kept across Stop/Serve of the same pool).
  StatusListenCounters counters(const std::string& pool) const {
    auto it = counters_.find(pool);
    return it == counters_.end() ? StatusListenCounters{} : it->second;
  }
  size_t clients() const { return clients_.size(); }

 private:
  struct Served {
    std::string pool;
    std::shared_ptr<Listener> listener;
    StatusListenLimits limits;
    std::shared_ptr<const base::ClientFilter> filter;
    size_t clients = 0;
    bool watched = false;
    os::TimePoint paused_until{};
  };
  struct Client {
    os::UniqueFd fd;
    int listen_fd = -1;
    std::unique_ptr<fastcgi::ServerSession> session;
    os::TimePoint deadline;
    size_t request_bytes = 0;  // received since the previous answer (or the accept)
    bool closing = false;      // answered without keep-alive: flush, then drain until EOF
    size_t drained = 0;
    uint64_t answers = 0;
    bool want_write = false;
  };
  enum class Trip { kFull, kClients, kTimeout, kTooLarge, kProtocol, kAcceptError };

  // Reads, parses, answers and sends what it can; false: close it.
  bool Step(Client& c, os::TimePoint now);
  bool Flush(Client& c);
  void Close(int fd);
  void Watch(Served& s, bool on);
  void Count(const Served& s, Trip trip, const std::string& detail);

  os::Poller* poller_;
  const uint64_t listen_token_, client_token_;
  Handler handler_;
  std::map<int, Served> served_;  // by listening fd
  std::map<int, Client> clients_;  // by fd
  std::map<std::string, StatusListenCounters> counters_;
  base::RateLimit trip_log_[6];
};

}  // namespace tfpm::supervisor
