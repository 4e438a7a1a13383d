// UnavailableAnswerer: the supervisor answering a failed pool's
// connections with 503 itself (unavailable.h has the bytes), inside its
// single-threaded event loop. Nothing here ever blocks on a client:
// every socket is non-blocking, each connection lives at most
// `lifetime` from accept to close whatever the client does, at most
// `max_clients` are held at once (the caller stops watching the listening
// socket while !CanAccept()), the request bytes read after the answer are
// capped, and when accept() fails for lack of descriptors the answerer
// pauses (`exhausted_pause`) instead of waking up on the still readable
// listening socket again and again.
//
// A connection: accept4 → read until its BEGIN_REQUEST is in (usually at
// once: nginx sends the request right after connecting) → write the 503
// answer in one non-blocking send (it is a few hundred bytes: a fresh
// socket's buffer always takes it; otherwise the connection is closed) →
// shutdown(SHUT_WR) → read and drop the rest of the request until the
// client closes → close. Reading the rest before closing keeps the kernel
// from resetting the connection under a client that is still sending, which
// would lose the answer.
//
// Not thread-safe: the supervisor's loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/client_filter.h"
#include "os/clock.h"
#include "os/poller.h"
#include "os/unique_fd.h"

namespace tfpm::supervisor {

class UnavailableAnswerer {
 public:
  struct Limits {
    size_t max_clients = 256;                  // connections held at once
    std::chrono::milliseconds lifetime{2000};  // accept to close, at most
    size_t max_discard = 1 << 20;              // request bytes read and dropped after the answer
    std::chrono::milliseconds exhausted_pause{500};  // no accept after EMFILE/ENFILE for this long
  };

  // Clients are registered in `poller` under `token_base | fd`.
  UnavailableAnswerer(os::Poller* poller, uint64_t token_base, Limits limits);
  ~UnavailableAnswerer();
  UnavailableAnswerer(const UnavailableAnswerer&) = delete;
  UnavailableAnswerer& operator=(const UnavailableAnswerer&) = delete;

  // Accepts the connections waiting on `listen_fd` (non-blocking) while
  // there is room; each gets the 503 with `why` on FCGI_STDERR as soon as
  // its BEGIN_REQUEST is in. A peer `clients` (the pool's
  // listen_allowed_clients; null = any) does not allow is closed at once,
  // unread and unanswered, and added to *refused (and not returned). Returns
  // how many it accepted.
  int AcceptFrom(int listen_fd, const std::shared_ptr<const std::string>& why, os::TimePoint now,
                 const base::ClientFilter* clients = nullptr, std::vector<std::string>* refused = nullptr);
  // A client's socket is readable (or closed).
  void OnEvent(int fd);
  // Closes the clients whose lifetime is over (and ends a pause). Call on
  // every turn of the loop.
  void Expire(os::TimePoint now);
  std::optional<os::TimePoint> NextDeadline() const;

  bool full() const { return clients_.size() >= limits_.max_clients; }
  // Room for another client, and not paused after running out of descriptors.
  bool CanAccept(os::TimePoint now) const { return !full() && now >= paused_until_; }
  size_t clients() const { return clients_.size(); }
  uint64_t answered() const { return answered_; }  // 503 answers written in full
  uint64_t exhausted() const { return exhausted_; }  // accept() failures for lack of descriptors

 private:
  struct Client {
    os::UniqueFd fd;
    std::string in;  // bytes before the BEGIN_REQUEST (whole records are dropped)
    std::shared_ptr<const std::string> why;
    bool answered = false;
    size_t discarded = 0;
    os::TimePoint close_at;
  };
  // Reads what is there and moves the client on; false: close it.
  bool Step(Client& c);
  void Close(int fd);

  os::Poller* poller_;
  const uint64_t token_base_;
  const Limits limits_;
  std::map<int, Client> clients_;
  uint64_t answered_ = 0;
  uint64_t exhausted_ = 0;
  os::TimePoint paused_until_{};
  os::TimePoint exhausted_logged_at_{};
};

}  // namespace tfpm::supervisor
