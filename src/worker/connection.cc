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
#include "fastcgi/params.h"
#include "fastcgi/record.h"
#include "fastcgi/writer.h"
#include "worker/limit_report.h"

namespace tfpm::worker {
namespace {

using fastcgi::ParseResult;
using fastcgi::Record;
using fastcgi::RecordType;

constexpr size_t kInitialInput = 16 * 1024;
constexpr size_t kMaxInput = 256 * 1024;
constexpr size_t kFlushThreshold = 64 * 1024;
// Buffers larger than this are given back when the connection is parked.
constexpr size_t kKeepCapacity = 16 * 1024;

// Types a web server sends on a request's id (STDIN after the request
// ended, or for a request refused with CANT_MPX_CONN, is skipped).
bool ClientRecordType(RecordType t) {
  return t == RecordType::kBeginRequest || t == RecordType::kAbortRequest || t == RecordType::kParams ||
         t == RecordType::kStdin || t == RecordType::kData;
}

template <typename T>
void ReleaseCapacity(T* buffer) {
  if (buffer->capacity() > kKeepCapacity) T().swap(*buffer);
}

std::string_view RoleName(uint16_t role) {
  switch (role) {
    case 1: return "RESPONDER";
    case 2: return "AUTHORIZER";
    case 3: return "FILTER";
    default: return "";
  }
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
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc > 0) return Wait::kReady;
    if (rc == 0) continue;  // re-check the deadline
    if (errno != EINTR) return Wait::kError;
    if (base::t_interrupt_requested) return Wait::kInterrupted;
  }
}

}  // namespace

Connection::Connection(os::UniqueFd fd, const ConnectionConfig* config)
    : fd_(std::move(fd)), config_(config), in_(new char[kInitialInput]), in_cap_(kInitialInput) {}

Connection::~Connection() = default;

Connection::Fill Connection::FillInput(bool block) {
  if (in_end_ == in_cap_) {
    Compact();
    if (in_end_ == in_cap_) {
      if (in_cap_ >= kMaxInput) return Fill::kEof;  // a record never needs this much
      std::unique_ptr<char[]> bigger(new char[in_cap_ * 2]);
      std::memcpy(bigger.get(), in_.get(), in_end_);
      in_ = std::move(bigger);
      in_cap_ *= 2;
    }
  }
  for (;;) {
    ssize_t n = ::read(fd_.get(), in_.get() + in_end_, in_cap_ - in_end_);
    if (n > 0) {
      in_end_ += static_cast<size_t>(n);
      return Fill::kData;
    }
    if (n == 0) return Fill::kEof;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
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

fastcgi::ParseResult Connection::NextRecord(fastcgi::Record* record) {
  if (in_begin_ == in_end_) return ParseResult::kNeedMore;
  size_t consumed = 0;
  Status err;
  const ParseResult r = fastcgi::ParseRecord(std::string_view(in_.get() + in_begin_, in_end_ - in_begin_),
                                             record, &consumed, &err);
  if (r == ParseResult::kError) {
    broken_ = true;
    TripLimit(config_->board, scoreboard::Limit::kProtocol,
              fmt::format("FastCGI connection closed: {}", err.message()));
  }
  in_begin_ += consumed;
  return r;
}

bool Connection::DropFinishedInput() {
  if (state_ != State::kIdle) return HasBufferedInput();
  while (in_begin_ < in_end_) {
    fastcgi::Record rec;
    size_t consumed = 0;
    Status err;
    const ParseResult r = fastcgi::ParseRecord(std::string_view(in_.get() + in_begin_, in_end_ - in_begin_),
                                               &rec, &consumed, &err);
    if (r != ParseResult::kRecord) break;
    const auto& h = rec.header;
    const bool ours = h.request_id == request_id_ &&
                      (h.type == RecordType::kStdin || h.type == RecordType::kData ||
                       h.type == RecordType::kAbortRequest);
    if (!ours) break;
    if (h.type == RecordType::kStdin && rec.content.empty()) leftovers_open_ = false;
    in_begin_ += consumed;
  }
  Compact();
  return HasBufferedInput();
}

void Connection::Compact() {
  if (stdin_left_ > 0) return;  // the unread body still points into in_
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
  } else if (in_begin_ > 0) {
    std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
}

void Connection::ReleaseBuffers() {
  if (in_begin_ == in_end_ && stdin_left_ == 0 && in_cap_ > kInitialInput) {
    in_.reset(new char[kInitialInput]);
    in_cap_ = kInitialInput;
    in_begin_ = in_end_ = 0;
  }
  ReleaseCapacity(&params_raw_);
  ReleaseCapacity(&params_store_);
  ReleaseCapacity(&params_);
  if (out_.empty()) ReleaseCapacity(&out_);
}

void Connection::ProtocolError(const fastcgi::RecordHeader& header) {
  broken_ = true;
  TripLimit(config_->board, scoreboard::Limit::kProtocol,
            fmt::format("FastCGI connection closed: unexpected record type {} on request id {}",
                        static_cast<unsigned>(header.type), header.request_id));
}

bool Connection::FlushPending() {
  CloseRecord();
  size_t off = 0;
  while (off < out_.size()) {
    const ssize_t n = ::send(fd_.get(), out_.data() + off, out_.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    broken_ = true;
    out_.clear();
    return false;
  }
  out_.erase(0, off);
  if (out_.size() > config_->max_output) {
    broken_ = true;
    TripLimit(config_->board, scoreboard::Limit::kOutput,
              fmt::format("FastCGI connection closed: {} bytes of answers unread by the client "
                          "(max_connection_output {})",
                          out_.size(), config_->max_output));
    out_.clear();
    return false;
  }
  return true;
}

bool Connection::HandleManagement(const fastcgi::RecordHeader& header, std::string_view content) {
  if (header.type == RecordType::kGetValues) {
    std::vector<fastcgi::Param> asked;
    if (!fastcgi::DecodeParams(content, &asked).ok()) return false;
    // Each known name is answered once, however often it is asked: the
    // answer is never larger than the three values.
    bool conns = false, reqs = false, mpxs = false;
    std::vector<std::pair<std::string, std::string>> answer;
    for (const auto& [name, value] : asked) {
      if (name == fastcgi::kMaxConns && !std::exchange(conns, true)) {
        answer.emplace_back(name, std::to_string(config_->max_conns));
      } else if (name == fastcgi::kMaxReqs && !std::exchange(reqs, true)) {
        answer.emplace_back(name, std::to_string(config_->max_reqs));
      } else if (name == fastcgi::kMpxsConns && !std::exchange(mpxs, true)) {
        answer.emplace_back(name, "0");
      }
    }
    CloseRecord();
    fastcgi::AppendGetValuesResult(answer, &out_);
    return true;
  }
  CloseRecord();
  fastcgi::AppendUnknownType(static_cast<uint8_t>(header.type), &out_);
  return true;
}

bool Connection::FinishParams() {
  std::vector<fastcgi::Param> raw;
  Status st = fastcgi::DecodeParams(params_raw_, &raw, config_->max_params);
  if (!st.ok()) {
    broken_ = true;
    if (st.code() == Status::Code::kInvalidArgument) {
      TripLimit(config_->board, scoreboard::Limit::kParams,
                fmt::format("FastCGI connection closed: more than {} params in a request (max_params)",
                            config_->max_params));
    } else {
      TripLimit(config_->board, scoreboard::Limit::kProtocol,
                fmt::format("FastCGI connection closed: {}", st.message()));
    }
    return false;
  }
  // Copy into one buffer with a NUL after each name and value, so the SAPI
  // can hand .data() to PHP's C APIs. Reserved up front: no reallocation,
  // so the views stay valid.
  const std::string_view role = RoleName(role_);
  size_t total = sizeof("FCGI_ROLE") + role.size() + 1;
  for (const auto& [n, v] : raw) total += n.size() + v.size() + 2;
  params_store_.clear();
  params_store_.reserve(total);
  params_.clear();
  auto add = [this](std::string_view n, std::string_view v) {
    const size_t at = params_store_.size();
    params_store_.append(n).push_back('\0');
    params_store_.append(v).push_back('\0');
    const char* base = params_store_.data() + at;
    params_.emplace_back(std::string_view(base, n.size()), std::string_view(base + n.size() + 1, v.size()));
  };
  add("FCGI_ROLE", role);
  for (const auto& [n, v] : raw) add(n, v);

  state_ = State::kActive;
  stdin_off_ = stdin_left_ = 0;
  stdin_ended_ = false;
  abort_requested_ = false;
  finished_ = false;
  input_deadline_us_ = 0;
  input_timed_out_ = false;
  return true;
}

Connection::Progress Connection::ReadRequest() {
  if (broken_) return Progress::kClose;
  // Answers left from the last time (parked for writability).
  if (!out_.empty() && !FlushPending()) return Progress::kClose;
  size_t read_this_call = 0;
  for (;;) {
    Record rec;
    for (ParseResult r; (r = NextRecord(&rec)) != ParseResult::kNeedMore;) {
      if (r == ParseResult::kError) return Progress::kClose;
      const auto& h = rec.header;
      if (h.request_id == fastcgi::kNullRequestId) {
        if (!HandleManagement(h, rec.content)) {
          broken_ = true;
          TripLimit(config_->board, scoreboard::Limit::kProtocol, "FastCGI connection closed: malformed GET_VALUES");
          return Progress::kClose;
        }
        continue;
      }
      switch (h.type) {
        case RecordType::kBeginRequest: {
          if (state_ == State::kParams && h.request_id != request_id_) {
            fastcgi::AppendEndRequest(h.request_id, 0, fastcgi::ProtocolStatus::kCantMpxConn, &out_);
            continue;
          }
          fastcgi::BeginRequestBody body;
          if (!fastcgi::DecodeBeginRequest(rec.content, &body).ok()) {
            broken_ = true;
            TripLimit(config_->board, scoreboard::Limit::kProtocol,
                      "FastCGI connection closed: malformed BEGIN_REQUEST");
            return Progress::kClose;
          }
          if (RoleName(static_cast<uint16_t>(body.role)).empty()) {
            // The spec's answer: END_REQUEST with FCGI_UNKNOWN_ROLE, at
            // once (the client may wait for it); the request's other
            // records are then ignored. (php-fpm closes the connection.)
            WarnRateLimited(fmt::format("FastCGI: BEGIN_REQUEST with unknown role {} refused",
                                        static_cast<unsigned>(body.role)));
            fastcgi::AppendEndRequest(h.request_id, 0, fastcgi::ProtocolStatus::kUnknownRole, &out_);
            if ((body.flags & fastcgi::kFlagKeepConn) == 0) {
              FlushPending();
              return Progress::kClose;
            }
            // Its PARAMS are skipped (no request is being read) and its
            // STDIN/DATA as a finished request's leftovers, up to the
            // empty STDIN record.
            request_id_ = h.request_id;
            leftovers_open_ = true;
            continue;
          }
          state_ = State::kParams;
          leftovers_open_ = false;
          request_id_ = h.request_id;
          role_ = static_cast<uint16_t>(body.role);
          keep_conn_ = (body.flags & fastcgi::kFlagKeepConn) != 0;
          params_raw_.clear();
          continue;
        }
        case RecordType::kParams:
          if (state_ != State::kParams || h.request_id != request_id_) continue;
          if (rec.content.empty()) {
            if (!FinishParams()) return Progress::kClose;
            if (!out_.empty() && !FlushPending()) return Progress::kClose;
            return Progress::kRequestReady;
          }
          if (params_raw_.size() + rec.content.size() > config_->max_params_bytes) {
            broken_ = true;
            TripLimit(config_->board, scoreboard::Limit::kParams,
                      fmt::format("FastCGI connection closed: PARAMS larger than {} bytes (max_params_size)",
                                  config_->max_params_bytes));
            return Progress::kClose;
          }
          params_raw_.append(rec.content);
          continue;
        case RecordType::kAbortRequest:
          if (state_ == State::kParams && h.request_id == request_id_) {
            fastcgi::AppendEndRequest(request_id_, 0, fastcgi::ProtocolStatus::kRequestComplete, &out_);
            state_ = State::kIdle;
            if (!keep_conn_) {
              FlushPending();
              return Progress::kClose;
            }
          }
          continue;
        default:
          // Skipped: the rest of the body a finished request did not read
          // (up to its end), a late ABORT, and the records of a request
          // refused with CANT_MPX_CONN while this one is being read.
          // Anything else is not a web server talking (php-fpm closes too).
          if ((h.type == RecordType::kStdin || h.type == RecordType::kData) && h.request_id == request_id_ &&
              leftovers_open_) {
            if (h.type == RecordType::kStdin && rec.content.empty()) leftovers_open_ = false;
            continue;
          }
          if (h.type == RecordType::kAbortRequest) continue;
          if (state_ == State::kParams && h.request_id != request_id_ && ClientRecordType(h.type)) continue;
          ProtocolError(h);
          return Progress::kClose;
      }
    }
    if (!out_.empty() && !FlushPending()) return Progress::kClose;
    // Fairness: a client that streams records without completing a request
    // gets back in line (its bytes wait in the socket, so epoll wakes a
    // thread for it again) instead of keeping this thread.
    if (read_this_call >= kMaxInput) return Progress::kNeedMore;
    Compact();
    const size_t had = in_end_;
    switch (FillInput(false)) {
      case Fill::kData:
        read_this_call += in_end_ - had;
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
  if (state_ != State::kActive || stdin_ended_ || buf.empty()) return 0;
  for (;;) {
    if (stdin_left_ > 0) {
      const size_t n = std::min(stdin_left_, buf.size());
      std::memcpy(buf.data(), in_.get() + stdin_off_, n);
      stdin_off_ += n;
      stdin_left_ -= n;
      return static_cast<ssize_t>(n);
    }
    Record rec;
    for (ParseResult r; (r = NextRecord(&rec)) != ParseResult::kNeedMore;) {
      if (r == ParseResult::kError) return -1;
      const auto& h = rec.header;
      if (h.request_id == fastcgi::kNullRequestId) {
        HandleManagement(h, rec.content);
        continue;
      }
      if (!ClientRecordType(h.type)) {
        ProtocolError(h);
        return -1;
      }
      if (h.request_id != request_id_) {
        if (h.type == RecordType::kBeginRequest) {
          CloseRecord();
          fastcgi::AppendEndRequest(h.request_id, 0, fastcgi::ProtocolStatus::kCantMpxConn, &out_);
        }
        continue;
      }
      if (h.type == RecordType::kStdin) {
        if (rec.content.empty()) {
          stdin_ended_ = true;
          return 0;
        }
        stdin_off_ = static_cast<size_t>(rec.content.data() - in_.get());
        stdin_left_ = rec.content.size();
        break;
      }
      if (h.type == RecordType::kAbortRequest) {
        // Answered with END_REQUEST by Finish(); the script sees
        // connection_aborted() and its output is dropped.
        abort_requested_ = true;
        return -1;
      }
    }
    // Answers to management records and refused requests sent meanwhile:
    // out as far as the socket takes them, never waiting, bounded.
    if (!out_.empty() && !FlushPending()) return -1;
    if (stdin_left_ > 0) continue;
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

bool Connection::Append(RecordType type, std::string_view data) {
  if (finished_) return true;
  if (aborted()) return false;
  if (data.empty()) return true;
  // Consecutive writes to one stream fill one open record, as php-fpm's
  // fcgi_write() does: many small echo()s without output_buffering share a
  // STDOUT record, and the pieces of PHP's messages before the next output
  // ("PHP message: A", "; ", "PHP message: B") share a STDERR record, which
  // nginx logs as one "FastCGI sent in stderr" line, not one per piece.
  if (open_record_ != kNoRecord && open_type_ != type) CloseRecord();
  while (!data.empty()) {
    if (open_record_ == kNoRecord) {
      open_record_ = out_.size();
      open_type_ = type;
      out_.append(fastcgi::kHeaderLength, '\0');
    }
    const size_t used = out_.size() - open_record_ - fastcgi::kHeaderLength;
    const size_t take = std::min(data.size(), fastcgi::kMaxContentLength - used);
    out_.append(data.data(), take);
    data.remove_prefix(take);
    if (used + take == fastcgi::kMaxContentLength) CloseRecord();
  }
  if (out_.size() >= kFlushThreshold) return SendAll();
  return true;
}

void Connection::CloseRecord() {
  if (open_record_ == kNoRecord) return;
  const size_t length = out_.size() - open_record_ - fastcgi::kHeaderLength;
  const uint8_t padding = fastcgi::PaddingLength(length);
  fastcgi::RecordHeader header;
  header.type = open_type_;
  header.request_id = request_id_;
  header.content_length = static_cast<uint16_t>(length);
  header.padding_length = padding;
  fastcgi::EncodeHeader(header, reinterpret_cast<uint8_t*>(out_.data() + open_record_));
  out_.append(padding, '\0');
  open_record_ = kNoRecord;
}

bool Connection::WriteStdout(std::string_view data) { return Append(RecordType::kStdout, data); }

bool Connection::WriteStderr(std::string_view data) { return Append(RecordType::kStderr, data); }

bool Connection::Flush() {
  if (finished_) return true;
  if (aborted()) return false;
  return SendAll();
}

bool Connection::SendAll() {
  CloseRecord();
  size_t off = 0;
  while (off < out_.size()) {
    ssize_t n = ::send(fd_.get(), out_.data() + off, out_.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // A client that stops reading holds the thread here; a request timeout
    // that wants the thread back ends the wait (the response is then lost).
    if (n < 0 && errno == EAGAIN && !nonblocking_writes_ && WaitUntil(fd_.get(), POLLOUT, 0) == Wait::kReady) {
      continue;
    }
    broken_ = true;
    out_.clear();
    return false;
  }
  out_.clear();
  return true;
}

void Connection::Finish(uint32_t app_status) {
  if (finished_) return;
  finished_ = true;
  if (!broken_) {
    // After FCGI_ABORT_REQUEST the client still waits for END_REQUEST
    // (spec §5.4); the stream end is left out, the output was dropped.
    CloseRecord();
    if (!abort_requested_) fastcgi::AppendStreamEnd(RecordType::kStdout, request_id_, &out_);
    fastcgi::AppendEndRequest(request_id_, app_status, fastcgi::ProtocolStatus::kRequestComplete, &out_);
    SendAll();
  }
  // Without FCGI_KEEP_CONN the web server reads until EOF: end the
  // connection now, even if the script goes on (fastcgi_finish_request()),
  // as php-fpm's fcgi_close() does. The Server closes the descriptor later.
  if (!keep_conn_) {
    ::shutdown(fd_.get(), SHUT_RDWR);
  } else if (config_->draining != nullptr && config_->draining->load(std::memory_order_acquire)) {
    // Draining (reload, stop): the Server closes this kept connection after
    // the request. Send the FIN right behind END_REQUEST, before PHP's
    // request shutdown, so the web server sees both together and does not
    // put the connection back into its keepalive cache for another request.
    ::shutdown(fd_.get(), SHUT_WR);
  }
  // Unread body records of this request are skipped by ReadRequest().
  leftovers_open_ = !stdin_ended_;
  state_ = State::kIdle;
  stdin_left_ = 0;
}

}  // namespace tfpm::worker
