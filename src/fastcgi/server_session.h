// ServerSession: the server side of one FastCGI connection as a pure state
// machine — bytes in, events and answer bytes out. No descriptors, no
// clock, no logging: worker::Connection reads the socket into it, acts on
// its events (runs the request, counts and logs a close), and sends what it
// has to write. Fed the same bytes, in whatever pieces, it yields the same
// events and the same output (tests/unit/fastcgi/server_session_test.cc;
// tests/fuzz/fastcgi_session_fuzzer.cc).
//
// What it implements (FastCGI 1.0, FCGI_MPXS_CONNS = 0: one request at a time):
//  - management records (request id 0): GET_VALUES is answered with
//    MAX_CONNS / MAX_REQS / MPXS_CONNS (each asked name once); any other
//    type with UNKNOWN_TYPE. A malformed GET_VALUES closes the session.
//  - BEGIN_REQUEST + PARAMS -> kRequest with the params decoded; an unknown
//    role is refused with END_REQUEST(UNKNOWN_ROLE) (kRefused; the session
//    closes unless FCGI_KEEP_CONN); a BEGIN_REQUEST for another id while
//    one is being read or run is refused with END_REQUEST(CANT_MPX_CONN)
//    and its records are skipped.
//  - the body: kStdin chunks (one per STDIN record) and kStdinEnd;
//    FCGI_ABORT_REQUEST -> kAbort while the request runs, END_REQUEST at
//    once while its PARAMS are being read.
//  - the response: STDOUT/STDERR coalesced into open records of up to
//    65535 bytes (many small writes share one record, as php-fpm's
//    fcgi_write), then the stream end and END_REQUEST.
//  - after a request, the rest of its body (STDIN up to the empty record),
//    its DATA and a late ABORT are skipped; its STDIN after the empty
//    record is a protocol error.
//  - limits: max_params_bytes and max_params (kClose, kParamsLimit). Any
//    record a web server never sends (a bad version, an application's
//    record type, an unknown type on a request id, STDIN for no request, a
//    malformed BEGIN_REQUEST or PARAMS) -> kClose, kProtocol.
// The transport bounds the rest: how much unsent output it tolerates
// (max_connection_output) and how long it waits.
//
// Buffers: the session owns its input buffer (at most kMaxInput bytes; a
// record never needs more than 65535 + 263) so the transport reads straight
// into it (InputSpace/CommitInput), and its output buffer.
//
// Threading: none; one owner at a time (the Connection's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fastcgi/protocol.h"

namespace tfpm::fastcgi {

struct SessionLimits {
  uint32_t max_conns = 1;             // FCGI_MAX_CONNS answer
  uint32_t max_reqs = 1;              // FCGI_MAX_REQS answer
  size_t max_params_bytes = 1 << 20;  // max_params_size: PARAMS stream bytes
  size_t max_params = 10000;          // max_params: pairs (FCGI_ROLE not counted)
};

class ServerSession {
 public:
  using Param = std::pair<std::string_view, std::string_view>;

  static constexpr size_t kInitialInput = 16 * 1024;
  static constexpr size_t kMaxInput = 256 * 1024;

  enum class EventType {
    kNeedMore,  // nothing more in the buffered bytes: feed more (or none is
                // parsed now: after kStdinEnd/kAbort until FinishRequest())
    kRequest,   // BEGIN_REQUEST + PARAMS complete: role(), params(), ...
    kStdin,     // a piece of the body: `data` (never empty)
    kStdinEnd,  // the body is complete
    kAbort,     // the client aborted the running request
    kRefused,   // a request was refused (unknown role): `data` says so;
                // worth a (rate-limited) warning, nothing to close
    kClose,     // the session is over: `reason`, and `data` says why
  };
  enum class CloseReason {
    kAnswered,     // not an error: its answer is in the output; send it, close
    kProtocol,     // the client broke the protocol (counted: protocol_errors)
    kParamsLimit,  // max_params_bytes or max_params (counted: params_refused)
  };
  struct Event {
    EventType type = EventType::kNeedMore;
    // kStdin: the bytes; kRefused/kClose: a message ("FastCGI connection
    // closed: ..."). Valid until the next non-const call.
    std::string_view data;
    CloseReason reason = CloseReason::kAnswered;  // kClose only
  };

  explicit ServerSession(const SessionLimits& limits);
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  // ---- input ----
  // Free space at the end of the input buffer (compacted, grown up to
  // kMaxInput first); empty only if kMaxInput bytes are buffered unparsed.
  // Invalidates the views of earlier events.
  std::span<char> InputSpace();
  // `n` bytes were written at InputSpace().data(). Requires n <= its size.
  void CommitInput(size_t n);
  // Copies as much of `bytes` as fits (InputSpace + CommitInput); returns
  // how many bytes it took.
  size_t Feed(std::string_view bytes);
  // Bytes received and not yet parsed.
  bool HasBufferedInput() const { return in_begin_ < in_end_; }
  size_t buffered_input() const { return in_end_ - in_begin_; }

  // Parses the next record(s) and returns the next event; consumes what it
  // parsed. Answers (GET_VALUES_RESULT, UNKNOWN_TYPE, END_REQUEST of a
  // refused or aborted request) are appended to the output on the way.
  // After kClose every call returns the same kClose.
  Event Next();

  // ---- the request ----
  // A request's params are read (and it is not finished yet).
  bool active() const { return state_ == State::kActive; }
  // Bytes of a request's BEGIN_REQUEST/PARAMS were read, its params not yet.
  bool mid_request() const { return state_ == State::kParams; }
  bool closed() const { return state_ == State::kClosed; }
  uint16_t request_id() const { return request_id_; }
  uint16_t role() const { return role_; }
  bool keep_conn() const { return keep_conn_; }
  // FCGI_ROLE first, then the params in arrival order; each name and value
  // is followed by '\0' in memory. Valid until the next kRequest.
  std::span<const Param> params() const { return params_; }
  bool stdin_ended() const { return stdin_ended_; }
  bool abort_received() const { return abort_received_; }

  // Response bytes of the active request, coalesced into open records.
  void AppendStdout(std::string_view data) { AppendStream(RecordType::kStdout, data); }
  void AppendStderr(std::string_view data) { AppendStream(RecordType::kStderr, data); }
  // Ends the active request: the STDOUT stream end (left out after an
  // abort: the output was dropped) and END_REQUEST(app_status). The rest of
  // its body, if unread, is skipped from now on. No-op unless active().
  void FinishRequest(uint32_t app_status);
  // Between requests: consumes the buffered records that belong to the
  // finished request and that Next() would skip anyway (LeftOver), so
  // HasBufferedInput() then says whether the client pipelined something
  // else. Does not change what Next() yields.
  void SkipFinishedRequest();

  // ---- output ----
  // Bytes to send (open records are completed first).
  std::string_view PendingOutput();
  // The transport sent the first `n` bytes of PendingOutput().
  void ConsumeOutput(size_t n);
  void DiscardOutput();
  size_t output_size() const { return out_.size(); }
  bool has_output() const { return !out_.empty(); }

  // ---- memory ----
  // Between requests: gives back what a large request made the buffers
  // grow to (keeps kInitialInput of input and at most 16 KiB elsewhere).
  void ReleaseBuffers();
  // Capacity its buffers hold: what it costs while parked.
  size_t buffered_bytes() const {
    return in_cap_ + out_.capacity() + params_raw_.capacity() +
           params_.capacity() * sizeof(Param);
  }

 private:
  enum class State { kIdle, kParams, kActive, kClosed };

  Event Close(CloseReason reason, std::string message);
  // One record, by state; true = `*event` is the event to return.
  bool OnBetweenRequests(const RecordHeader& h, std::string_view content, Event* event);
  bool OnActive(const RecordHeader& h, std::string_view content, Event* event);
  // Between requests: `h` belongs to the finished (or refused) request and
  // is skipped: an ABORT, DATA, STDIN up to its empty record (which it
  // notes). The one rule for Next() and SkipFinishedRequest().
  bool LeftOver(const RecordHeader& h, std::string_view content);
  // Management record (request id 0): answered; false if malformed.
  bool OnManagement(const RecordHeader& h, std::string_view content);
  // The empty PARAMS record: decodes and stores the params.
  void FinishParams(Event* event);
  void AppendStream(RecordType type, std::string_view data);
  void CloseOpenRecord();
  void Compact();

  SessionLimits limits_;
  State state_ = State::kIdle;

  std::unique_ptr<char[]> in_;
  size_t in_cap_ = 0, in_begin_ = 0, in_end_ = 0;

  std::string out_;
  static constexpr size_t kNoRecord = static_cast<size_t>(-1);
  size_t open_record_ = kNoRecord;  // offset in out_ of the open stream record
  RecordType open_type_ = RecordType::kStdout;

  uint16_t request_id_ = 0;
  uint16_t role_ = 1;
  bool keep_conn_ = false;
  // The PARAMS stream as it arrives; once complete, the pairs decoded in
  // place (params_ points into it until the next BEGIN_REQUEST).
  std::string params_raw_;
  std::vector<Param> params_;
  bool stdin_ended_ = false;
  bool abort_received_ = false;
  // The finished (or refused) request's body may still come: its STDIN and
  // DATA records are skipped up to the empty STDIN record.
  bool leftovers_open_ = false;
  // kRefused of a request without FCGI_KEEP_CONN: the next event is kClose.
  bool close_after_refusal_ = false;
  std::string message_;  // of the last kRefused/kClose
  CloseReason close_reason_ = CloseReason::kAnswered;
};

}  // namespace tfpm::fastcgi
