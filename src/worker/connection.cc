#include "worker/connection.h"

#include <time.h>

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "base/clock.h"
#include "base/interrupt.h"
#include "base/log.h"
#include "os/fd_io.h"
#include "os/socket_io.h"
#include "worker/limit_report.h"

namespace tfpm::worker {
namespace {

using fastcgi::ServerSession;
using EventType = ServerSession::EventType;

constexpr size_t kFlushThreshold = 64 * 1024;

fastcgi::SessionLimits LimitsOf(const ConnectionConfig& c) {
  fastcgi::SessionLimits limits;
  limits.max_conns = c.max_conns;
  limits.max_reqs = c.max_reqs;
  limits.max_params_bytes = c.max_params_bytes;
  limits.max_params = c.max_params;
  return limits;
}

// Waits until `fd` is ready for `events`; false on error or hang-up with
// nothing to read.
enum class Wait { kReady, kError, kTimeout, kInterrupted };

// Waits for `events` until `deadline_us` (0 = none); gives up when the
// thread's interrupt flag is raised (a request timeout wants it back).
Wait WaitUntil(int fd, short events, int64_t deadline_us) {
  pollfd p{fd, events, 0};
  for (;;) {
    int timeout_ms = -1;
    if (deadline_us != 0) {
      const int64_t left = deadline_us - base::MonotonicMicros();
      if (left <= 0) return Wait::kTimeout;
      timeout_ms = static_cast<int>(std::min<int64_t>((left + 999) / 1000, 1 << 30));
    }
    auto rc = os::Poll({&p, 1}, timeout_ms, os::OnSignal::kReport);
    if (rc.ok() && *rc > 0) return Wait::kReady;
    if (rc.ok()) continue;  // re-check the deadline
    if (!os::Interrupted(rc.status())) return Wait::kError;
    if (base::t_interrupt_requested) return Wait::kInterrupted;
  }
}

}  // namespace

Connection::Connection(os::UniqueFd fd, const ConnectionConfig* config)
    : fd_(std::move(fd)), config_(config), session_(LimitsOf(*config)) {}

Connection::~Connection() = default;

Connection::Fill Connection::FillInput(bool block) {
  const std::span<char> space = session_.InputSpace();
  if (space.empty()) return Fill::kEof;  // a record never needs this much
  for (;;) {
    auto n = os::ReadSome(fd_.get(), space);  // EINTR retried inside
    if (n.ok() && *n > 0) {
      session_.CommitInput(*n);
      return Fill::kData;
    }
    if (n.ok()) return Fill::kEof;
    if (os::WouldBlock(n.status())) {
      if (!block) return Fill::kAgain;
      switch (WaitUntil(fd_.get(), POLLIN, input_deadline_us_)) {
        case Wait::kReady: continue;
        case Wait::kError: return Fill::kEof;
        case Wait::kTimeout: return Fill::kTimeout;
        case Wait::kInterrupted: return Fill::kInterrupted;
      }
      continue;
    }
    return Fill::kEof;  // ECONNRESET & co.
  }
}

void Connection::OnClose(const ServerSession::Event& event) {
  switch (event.reason) {
    case ServerSession::CloseReason::kAnswered:
      // An orderly end (a refused role or an aborted request without
      // FCGI_KEEP_CONN): its answer goes out first.
      FlushPending();
      return;
    case ServerSession::CloseReason::kProtocol:
      broken_ = true;
      TripLimit(config_->board, scoreboard::Limit::kProtocol, event.data);
      return;
    case ServerSession::CloseReason::kParamsLimit:
      broken_ = true;
      TripLimit(config_->board, scoreboard::Limit::kParams, event.data);
      return;
  }
}

bool Connection::DropFinishedInput() {
  session_.SkipFinishedRequest();
  return session_.HasBufferedInput();
}

bool Connection::FlushPending() {
  const std::string_view out = session_.PendingOutput();
  size_t off = 0;
  while (off < out.size()) {
    auto n = os::SendSome(fd_.get(), out.substr(off), os::SendMode::kDontWait);  // EINTR retried inside
    if (n.ok() && *n > 0) {
      off += *n;
      continue;
    }
    if (!n.ok() && os::WouldBlock(n.status())) break;
    broken_ = true;
    session_.DiscardOutput();
    return false;
  }
  session_.ConsumeOutput(off);
  if (session_.output_size() > config_->max_output) {
    broken_ = true;
    TripLimit(config_->board, scoreboard::Limit::kOutput,
              fmt::format("FastCGI connection closed: {} bytes of answers unread by the client "
                          "(max_connection_output {})",
                          session_.output_size(), config_->max_output));
    session_.DiscardOutput();
    return false;
  }
  return true;
}

Connection::Progress Connection::ReadRequest() {
  if (broken_ || session_.closed()) return Progress::kClose;
  // Answers left from the last time (parked for writability).
  if (session_.has_output() && !FlushPending()) return Progress::kClose;
  size_t read_this_call = 0;
  for (;;) {
    for (bool more = true; more;) {
      const ServerSession::Event event = session_.Next();
      switch (event.type) {
        case EventType::kNeedMore:
          more = false;
          break;
        case EventType::kRequest:
          stdin_pending_ = {};
          finished_ = false;
          input_deadline_us_ = 0;
          input_timed_out_ = false;
          if (session_.has_output() && !FlushPending()) return Progress::kClose;
          return Progress::kRequestReady;
        case EventType::kRefused:
          WarnRateLimited(event.data);
          break;
        case EventType::kClose:
          OnClose(event);
          return Progress::kClose;
        case EventType::kStdin:
        case EventType::kStdinEnd:
        case EventType::kAbort:
          // Only while a request runs, never between requests.
          broken_ = true;
          return Progress::kClose;
      }
    }
    if (session_.has_output() && !FlushPending()) return Progress::kClose;
    // Fairness: a client that streams records without completing a request
    // gets back in line (its bytes wait in the socket, so epoll wakes a
    // thread for it again) instead of keeping this thread.
    if (read_this_call >= ServerSession::kMaxInput) return Progress::kNeedMore;
    const size_t had = session_.buffered_input();
    switch (FillInput(false)) {
      case Fill::kData:
        read_this_call += session_.buffered_input() - had;
        break;
      case Fill::kAgain: return Progress::kNeedMore;
      case Fill::kEof:
      case Fill::kTimeout:      // not returned without blocking
      case Fill::kInterrupted:  // not returned without blocking
        broken_ = true;
        return Progress::kClose;
    }
  }
}

ssize_t Connection::ReadStdin(std::span<char> buf) {
  if (aborted()) return -1;
  if (!session_.active() || session_.stdin_ended() || buf.empty()) return 0;
  for (;;) {
    if (!stdin_pending_.empty()) {
      const size_t n = std::min(stdin_pending_.size(), buf.size());
      std::memcpy(buf.data(), stdin_pending_.data(), n);
      stdin_pending_.remove_prefix(n);
      return static_cast<ssize_t>(n);
    }
    for (bool more = true; more;) {
      const ServerSession::Event event = session_.Next();
      switch (event.type) {
        case EventType::kNeedMore:
          more = false;
          break;
        case EventType::kStdin:
          stdin_pending_ = event.data;
          more = false;
          break;
        case EventType::kStdinEnd:
          return 0;
        case EventType::kAbort:
          // Answered with END_REQUEST by Finish(); the script sees
          // connection_aborted() and its output is dropped.
          return -1;
        case EventType::kClose:
          OnClose(event);
          broken_ = true;
          return -1;
        case EventType::kRequest:
        case EventType::kRefused:
          // Only between requests, never while one runs.
          broken_ = true;
          return -1;
      }
    }
    // Answers to management records and refused requests sent meanwhile:
    // out as far as the socket takes them, never waiting, bounded.
    if (session_.has_output() && !FlushPending()) return -1;
    if (!stdin_pending_.empty()) continue;
    switch (FillInput(true)) {
      case Fill::kData: break;
      case Fill::kTimeout:
        input_timed_out_ = true;
        return 0;
      case Fill::kInterrupted:
        return 0;
      default:
        broken_ = true;
        return -1;
    }
  }
}

bool Connection::Append(bool to_stderr, std::string_view data) {
  if (finished_) return true;
  if (aborted()) return false;
  // In pieces of kFlushThreshold, each sent once the buffer reaches it: the
  // session's buffer never grows to a whole write's size (a 16 MiB header
  // or PHP message arrives as one), so it never keeps such a size either.
  while (!data.empty()) {
    const std::string_view piece = data.substr(0, kFlushThreshold);
    data.remove_prefix(piece.size());
    if (to_stderr) {
      session_.AppendStderr(piece);
    } else {
      session_.AppendStdout(piece);
    }
    if (session_.output_size() >= kFlushThreshold && !SendAll()) return false;
  }
  return true;
}

bool Connection::WriteStdout(std::string_view data) { return Append(false, data); }

bool Connection::WriteStderr(std::string_view data) { return Append(true, data); }

bool Connection::Flush() {
  if (finished_) return true;
  if (aborted()) return false;
  return SendAll();
}

bool Connection::SendAll() {
  const std::string_view out = session_.PendingOutput();
  size_t off = 0;
  while (off < out.size()) {
    auto n = os::SendSome(fd_.get(), out.substr(off), os::SendMode::kBlocking);  // EINTR retried inside
    if (n.ok() && *n > 0) {
      off += *n;
      continue;
    }
    // A client that stops reading holds the thread here; a request timeout
    // that wants the thread back ends the wait (the response is then lost).
    if (!n.ok() && os::WouldBlock(n.status()) && !nonblocking_writes_ &&
        WaitUntil(fd_.get(), POLLOUT, 0) == Wait::kReady) {
      continue;
    }
    broken_ = true;
    session_.DiscardOutput();
    return false;
  }
  session_.DiscardOutput();
  return true;
}

void Connection::Finish(uint32_t app_status) {
  if (finished_) return;
  finished_ = true;
  // STDOUT's end (unless aborted) and END_REQUEST; the unread rest of the
  // body is skipped from now on.
  session_.FinishRequest(app_status);
  if (!broken_) {
    SendAll();
  } else {
    session_.DiscardOutput();
  }
  // Without FCGI_KEEP_CONN the web server reads until EOF: end the
  // connection now, even if the script goes on (fastcgi_finish_request()),
  // as php-fpm's fcgi_close() does. The Dispatcher closes the descriptor later.
  if (!session_.keep_conn()) {
    (void)os::Shutdown(fd_.get(), os::ShutdownHow::kBoth);  // a reset peer is gone either way
  } else if (config_->draining != nullptr && config_->draining->load(std::memory_order_acquire)) {
    // Draining (reload, stop): the Dispatcher closes this kept connection after
    // the request. Send the FIN right behind END_REQUEST, before PHP's
    // request shutdown, so the web server sees both together and does not
    // put the connection back into its keepalive cache for another request.
    (void)os::Shutdown(fd_.get(), os::ShutdownHow::kWrite);  // a reset peer is gone either way
  }
  stdin_pending_ = {};
}

}  // namespace tfpm::worker
