#include "tools/fcgi-bench/session.h"

#include <string>

namespace tfpm::bench {

Session::Session(std::string_view request, uint16_t request_id, bool keep_conn,
                 const Expectation* expect)
    : request_(request),
      request_id_(request_id),
      keep_conn_(keep_conn),
      expect_(expect),
      reader_(request_id) {}

void Session::Start() {
  reader_.Reset(request_id_);
  written_ = 0;
  in_progress_ = true;
  reusable_ = false;
  bytes_received_ = 0;
  ++exchanges_;
}

Outcome Session::Finish(Verdict verdict, bool reusable) {
  in_progress_ = false;
  reusable_ = reusable;
  Outcome outcome;
  outcome.finished = true;
  outcome.verdict = std::move(verdict);
  return outcome;
}

Outcome Session::OnRead(std::string_view data) {
  bytes_received_ += data.size();
  const Status fed = reader_.Feed(data);
  if (!fed.ok()) {
    Verdict v;
    v.kind = ErrorKind::kProtocol;
    v.message = fed.message();
    return Finish(std::move(v), false);
  }
  if (!reader_.done()) return Outcome{};
  Verdict v = ValidateResponse(reader_, *expect_);
  // A status or body failure is still a complete exchange: the connection
  // is as good as after a success.
  const bool clean = v.ok || v.kind == ErrorKind::kStatus || v.kind == ErrorKind::kBody;
  return Finish(std::move(v), keep_conn_ && clean && PendingOutput().empty());
}

Outcome Session::OnEof() {
  Verdict v;
  v.kind = ErrorKind::kRead;
  v.message = "connection closed by the server after " + std::to_string(bytes_received_) +
              " response bytes (request " + std::to_string(written_) + "/" +
              std::to_string(request_.size()) + " bytes written, exchange " +
              std::to_string(exchanges_) + " on this connection)";
  return Finish(std::move(v), false);
}

}  // namespace tfpm::bench
