#include "fastcgi/server_session.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include <fmt/format.h>

#include "base/scratch.h"
#include "base/status.h"
#include "fastcgi/params.h"
#include "fastcgi/record.h"
#include "fastcgi/writer.h"

namespace tfpm::fastcgi {
namespace {

// Buffers larger than this are given back between requests.
constexpr size_t kKeepCapacity = 16 * 1024;

// Types a web server sends on a request's id.
bool ClientRecordType(RecordType t) {
  return t == RecordType::kBeginRequest || t == RecordType::kAbortRequest || t == RecordType::kParams ||
         t == RecordType::kStdin || t == RecordType::kData;
}

std::string_view RoleName(uint16_t role) {
  switch (role) {
    case 1: return "RESPONDER";
    case 2: return "AUTHORIZER";
    case 3: return "FILTER";
    default: return "";
  }
}

}  // namespace

ServerSession::ServerSession(const SessionLimits& limits)
    : limits_(limits), in_(new char[kInitialInput]), in_cap_(kInitialInput) {}

// ---- input ------------------------------------------------------------

void ServerSession::Compact() {
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
  } else if (in_begin_ > 0) {
    std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
}

std::span<char> ServerSession::InputSpace() {
  // Moves bytes only when records were consumed from the front since the
  // last call (at most one partial record), never once per byte received.
  Compact();
  if (in_end_ == in_cap_) {
    if (in_cap_ < kMaxInput) {
      std::unique_ptr<char[]> bigger(new char[in_cap_ * 2]);
      std::memcpy(bigger.get(), in_.get(), in_end_);
      in_ = std::move(bigger);
      in_cap_ *= 2;
    }
  }
  return std::span<char>(in_.get() + in_end_, in_cap_ - in_end_);
}

void ServerSession::CommitInput(size_t n) { in_end_ += std::min(n, in_cap_ - in_end_); }

size_t ServerSession::Feed(std::string_view bytes) {
  size_t taken = 0;
  while (taken < bytes.size()) {
    std::span<char> space = InputSpace();
    if (space.empty()) break;
    const size_t n = std::min(space.size(), bytes.size() - taken);
    std::memcpy(space.data(), bytes.data() + taken, n);
    CommitInput(n);
    taken += n;
  }
  return taken;
}

// ---- events -------------------------------------------------------------

ServerSession::Event ServerSession::Close(CloseReason reason, std::string message) {
  state_ = State::kClosed;
  close_reason_ = reason;
  message_ = std::move(message);
  return Event{EventType::kClose, message_, reason};
}

ServerSession::Event ServerSession::Next() {
  if (state_ == State::kClosed) return Event{EventType::kClose, message_, close_reason_};
  if (close_after_refusal_) {
    close_after_refusal_ = false;
    return Close(CloseReason::kAnswered, "FastCGI request refused; connection closed");
  }
  // The running request's body is over: nothing is parsed until it is
  // finished (what comes next belongs to the next request, or is its
  // leftovers).
  if (state_ == State::kActive && (stdin_ended_ || abort_received_)) return Event{};
  for (;;) {
    if (in_begin_ == in_end_) return Event{};
    Record rec;
    size_t consumed = 0;
    Status err;
    const ParseResult r =
        ParseRecord(std::string_view(in_.get() + in_begin_, in_end_ - in_begin_), &rec, &consumed, &err);
    if (r == ParseResult::kNeedMore) return Event{};
    if (r == ParseResult::kError) {
      return Close(CloseReason::kProtocol, fmt::format("FastCGI connection closed: {}", err.message()));
    }
    in_begin_ += consumed;
    Event event;
    const bool yield = state_ == State::kActive ? OnActive(rec.header, rec.content, &event)
                                                : OnBetweenRequests(rec.header, rec.content, &event);
    if (yield) return event;
  }
}

bool ServerSession::OnManagement(const RecordHeader& h, std::string_view content) {
  CloseOpenRecord();
  if (h.type != RecordType::kGetValues) {
    AppendUnknownType(static_cast<uint8_t>(h.type), &out_);
    return true;
  }
  std::vector<Param> asked;
  if (!DecodeParams(content, &asked).ok()) return false;
  // Each known name is answered once, however often it is asked: the answer
  // is never larger than the three values.
  bool conns = false, reqs = false, mpxs = false;
  std::vector<std::pair<std::string, std::string>> answer;
  for (const auto& [name, value] : asked) {
    if (name == kMaxConns && !std::exchange(conns, true)) {
      answer.emplace_back(name, std::to_string(limits_.max_conns));
    } else if (name == kMaxReqs && !std::exchange(reqs, true)) {
      answer.emplace_back(name, std::to_string(limits_.max_reqs));
    } else if (name == kMpxsConns && !std::exchange(mpxs, true)) {
      answer.emplace_back(name, "0");
    }
  }
  AppendGetValuesResult(answer, &out_);
  return true;
}

bool ServerSession::OnBetweenRequests(const RecordHeader& h, std::string_view content, Event* event) {
  if (h.request_id == kNullRequestId) {
    if (OnManagement(h, content)) return false;
    *event = Close(CloseReason::kProtocol, "FastCGI connection closed: malformed GET_VALUES");
    return true;
  }
  switch (h.type) {
    case RecordType::kBeginRequest: {
      if (state_ == State::kParams && h.request_id != request_id_) {
        AppendEndRequest(h.request_id, 0, ProtocolStatus::kCantMpxConn, &out_);
        return false;
      }
      BeginRequestBody body;
      if (!DecodeBeginRequest(content, &body).ok()) {
        *event = Close(CloseReason::kProtocol, "FastCGI connection closed: malformed BEGIN_REQUEST");
        return true;
      }
      const auto role = static_cast<uint16_t>(body.role);
      if (RoleName(role).empty()) {
        // The spec's answer: END_REQUEST with FCGI_UNKNOWN_ROLE, at once
        // (the client may wait for it); the request's PARAMS are skipped
        // (no request is being read) and its STDIN/DATA as a finished
        // request's leftovers. (php-fpm closes the connection.)
        AppendEndRequest(h.request_id, 0, ProtocolStatus::kUnknownRole, &out_);
        request_id_ = h.request_id;
        leftovers_open_ = true;
        close_after_refusal_ = (body.flags & kFlagKeepConn) == 0;
        message_ = fmt::format("FastCGI: BEGIN_REQUEST with unknown role {} refused", role);
        *event = Event{EventType::kRefused, message_};
        return true;
      }
      state_ = State::kParams;
      leftovers_open_ = false;
      request_id_ = h.request_id;
      role_ = role;
      keep_conn_ = (body.flags & kFlagKeepConn) != 0;
      params_raw_.clear();
      return false;
    }
    case RecordType::kParams:
      if (state_ != State::kParams || h.request_id != request_id_) return false;
      if (content.empty()) {
        FinishParams(event);
        return true;
      }
      if (params_raw_.size() + content.size() > limits_.max_params_bytes) {
        *event = Close(CloseReason::kParamsLimit,
                       fmt::format("FastCGI connection closed: PARAMS larger than {} bytes (max_params_size)",
                                   limits_.max_params_bytes));
        return true;
      }
      params_raw_.append(content);
      return false;
    case RecordType::kAbortRequest:
      // While its PARAMS are read: END_REQUEST at once. Otherwise a late
      // ABORT (of a finished or refused request): skipped.
      if (state_ == State::kParams && h.request_id == request_id_) {
        AppendEndRequest(request_id_, 0, ProtocolStatus::kRequestComplete, &out_);
        state_ = State::kIdle;
        if (!keep_conn_) {
          *event = Close(CloseReason::kAnswered, "FastCGI request aborted; connection closed");
          return true;
        }
      }
      return false;
    default:
      // Skipped: what a finished request did not read (LeftOver), and the
      // records of a request refused with CANT_MPX_CONN while this one is
      // being read. Anything else is not a web server talking (php-fpm
      // closes too).
      if (LeftOver(h, content)) return false;
      if (state_ == State::kParams && h.request_id != request_id_ && ClientRecordType(h.type)) return false;
      *event = Close(CloseReason::kProtocol,
                     fmt::format("FastCGI connection closed: unexpected record type {} on request id {}",
                                 static_cast<unsigned>(h.type), h.request_id));
      return true;
  }
}

bool ServerSession::OnActive(const RecordHeader& h, std::string_view content, Event* event) {
  if (h.request_id == kNullRequestId) {
    if (OnManagement(h, content)) return false;
    *event = Close(CloseReason::kProtocol, "FastCGI connection closed: malformed GET_VALUES");
    return true;
  }
  if (!ClientRecordType(h.type)) {
    *event = Close(CloseReason::kProtocol,
                   fmt::format("FastCGI connection closed: unexpected record type {} on request id {}",
                               static_cast<unsigned>(h.type), h.request_id));
    return true;
  }
  if (h.request_id != request_id_) {
    // Another request while this one runs: refused; its other records are
    // skipped.
    if (h.type == RecordType::kBeginRequest) {
      CloseOpenRecord();
      AppendEndRequest(h.request_id, 0, ProtocolStatus::kCantMpxConn, &out_);
    }
    return false;
  }
  if (h.type == RecordType::kStdin) {
    if (content.empty()) {
      stdin_ended_ = true;
      *event = Event{EventType::kStdinEnd};
    } else {
      *event = Event{EventType::kStdin, content};
    }
    return true;
  }
  if (h.type == RecordType::kAbortRequest) {
    // Answered with END_REQUEST by FinishRequest(); the output is dropped.
    abort_received_ = true;
    *event = Event{EventType::kAbort};
    return true;
  }
  return false;  // BEGIN_REQUEST, PARAMS or DATA again on its own id: skipped
}

void ServerSession::FinishParams(Event* event) {
  // A NUL after each name and value, so the SAPI can hand .data() to PHP's
  // C APIs: FCGI_ROLE first (as php-fpm registers it; both are literals),
  // then the pairs, decoded and terminated in place in the buffer that
  // collected them, in one pass. The buffers are kept across requests
  // (cleared, not freed): a kept connection's next request decodes with no
  // allocation. Copying the pairs into a second buffer, with their NULs,
  // cost 885 instructions more per hello request; decoding into views and
  // then copying each pair (two passes), 1,400 more than that
  // (tools/bench/instructions).
  params_raw_.push_back('\0');  // DecodeParamsInPlace's spare byte
  params_.clear();
  params_.emplace_back("FCGI_ROLE", RoleName(role_));
  Status st = DecodeParamsInPlace({params_raw_.data(), params_raw_.size()}, &params_, limits_.max_params);
  if (!st.ok()) {
    params_.clear();
    if (st.code() == Status::Code::kInvalidArgument) {
      *event = Close(CloseReason::kParamsLimit,
                     fmt::format("FastCGI connection closed: more than {} params in a request (max_params)",
                                 limits_.max_params));
    } else {
      *event = Close(CloseReason::kProtocol, fmt::format("FastCGI connection closed: {}", st.message()));
    }
    return;
  }

  state_ = State::kActive;
  stdin_ended_ = false;
  abort_received_ = false;
  *event = Event{EventType::kRequest};
}

bool ServerSession::LeftOver(const RecordHeader& h, std::string_view content) {
  if (state_ != State::kIdle || h.request_id != request_id_) return false;
  switch (h.type) {
    case RecordType::kAbortRequest:
    case RecordType::kData:  // a FILTER request's data stream, unread
      return true;
    case RecordType::kStdin:
      if (!leftovers_open_) return false;  // after its end: not a leftover
      if (content.empty()) leftovers_open_ = false;
      return true;
    default:
      return false;
  }
}

void ServerSession::SkipFinishedRequest() {
  // Exactly the records Next() would skip, so whether they were buffered
  // when the request ended or come later makes no difference.
  while (in_begin_ < in_end_) {
    Record rec;
    size_t consumed = 0;
    Status err;
    if (ParseRecord(std::string_view(in_.get() + in_begin_, in_end_ - in_begin_), &rec, &consumed, &err) !=
            ParseResult::kRecord ||
        !LeftOver(rec.header, rec.content)) {
      break;
    }
    in_begin_ += consumed;
  }
  Compact();
}

// ---- output -------------------------------------------------------------

void ServerSession::AppendStream(RecordType type, std::string_view data) {
  if (state_ != State::kActive || data.empty()) return;
  // Consecutive writes to one stream fill one open record, as php-fpm's
  // fcgi_write() does: many small echo()s share a STDOUT record, and the
  // pieces of PHP's messages before the next output ("PHP message: A",
  // "; ", "PHP message: B") share a STDERR record, which nginx logs as one
  // "FastCGI sent in stderr" line.
  if (open_record_ != kNoRecord && open_type_ != type) CloseOpenRecord();
  while (!data.empty()) {
    if (open_record_ == kNoRecord) {
      open_record_ = out_.size();
      open_type_ = type;
      out_.append(kHeaderLength, '\0');
    }
    const size_t used = out_.size() - open_record_ - kHeaderLength;
    const size_t take = std::min(data.size(), kMaxContentLength - used);
    out_.append(data.data(), take);
    data.remove_prefix(take);
    if (used + take == kMaxContentLength) CloseOpenRecord();
  }
}

void ServerSession::CloseOpenRecord() {
  if (open_record_ == kNoRecord) return;
  const size_t length = out_.size() - open_record_ - kHeaderLength;
  const uint8_t padding = PaddingLength(length);
  RecordHeader header;
  header.type = open_type_;
  header.request_id = request_id_;
  header.content_length = static_cast<uint16_t>(length);
  header.padding_length = padding;
  EncodeHeader(header, reinterpret_cast<uint8_t*>(out_.data() + open_record_));
  out_.append(padding, '\0');
  open_record_ = kNoRecord;
}

void ServerSession::FinishRequest(uint32_t app_status) {
  if (state_ != State::kActive) return;
  CloseOpenRecord();
  // After FCGI_ABORT_REQUEST the client still waits for END_REQUEST (spec
  // §5.4); the stream end is left out, the output was dropped.
  if (!abort_received_) AppendStreamEnd(RecordType::kStdout, request_id_, &out_);
  AppendEndRequest(request_id_, app_status, ProtocolStatus::kRequestComplete, &out_);
  leftovers_open_ = !stdin_ended_;
  state_ = State::kIdle;
}

std::string_view ServerSession::PendingOutput() {
  CloseOpenRecord();
  return out_;
}

void ServerSession::ConsumeOutput(size_t n) {
  CloseOpenRecord();
  out_.erase(0, std::min(n, out_.size()));
}

void ServerSession::DiscardOutput() {
  out_.clear();
  open_record_ = kNoRecord;
}

void ServerSession::ReleaseBuffers() {
  if (in_begin_ == in_end_ && in_cap_ > kInitialInput) {
    in_.reset(new char[kInitialInput]);
    in_cap_ = kInitialInput;
    in_begin_ = in_end_ = 0;
  }
  base::ReleaseIfLarge(params_raw_, kKeepCapacity);
  base::ReleaseIfLarge(params_, kKeepCapacity);
  if (out_.empty()) base::ReleaseIfLarge(out_, kKeepCapacity);
}

}  // namespace tfpm::fastcgi
