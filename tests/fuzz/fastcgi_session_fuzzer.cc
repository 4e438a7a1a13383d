// Fuzz target: the server side of FastCGI (fastcgi/server_session.h), fed
// the input as a client's byte stream, whole and in pieces whose sizes the
// input chooses too, with an application that answers each request.
//
// Input: byte 0 the limits (max_params 0..15 or 10000; max_params_bytes
// 64..8K or 1 MiB), bytes 1-8 what the application does with each request
// (reads its body or not, writes STDOUT/STDERR), bytes 9-16 seed the piece
// sizes; the rest is the stream.
// Properties besides "no crash, leak or UB":
//  - the events and the output are the same whether the stream comes whole,
//    in the chosen pieces or byte by byte;
//  - the output is a stream of well-formed records of the types a server
//    sends (GET_VALUES_RESULT, UNKNOWN_TYPE, END_REQUEST, STDOUT, STDERR);
//  - params: FCGI_ROLE first, NUL after every name and value, at most
//    max_params + 1; input never buffered beyond kMaxInput.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fastcgi/record.h"
#include "fastcgi/server_session.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using tfpm::fastcgi::RecordType;
using tfpm::fastcgi::ServerSession;
using EventType = ServerSession::EventType;

struct Transcript {
  std::string events;  // one line per event
  std::string output;
  bool operator==(const Transcript&) const = default;
};

struct Driver {
  const uint8_t* app;  // 8 bytes: what to do with the n-th request
  tfpm::fastcgi::SessionLimits limits;
  size_t requests = 0;
  uint8_t current = 0;

  void Check(ServerSession& s) const {
    const auto params = s.params();
    FUZZ_CHECK(!params.empty() && params[0].first == "FCGI_ROLE");
    FUZZ_CHECK(params.size() <= limits.max_params + 1);
    for (const auto& [n, v] : params) FUZZ_CHECK(n.data()[n.size()] == '\0' && v.data()[v.size()] == '\0');
  }

  void Answer(ServerSession& s) {
    if (current & 0x02) s.AppendStdout(std::string(size_t{current} * 7, 'o'));
    if (current & 0x04) s.AppendStderr("message");
    // More than one record, for the first request only: 70 KB per request
    // made long inputs run at a few hundred executions a second.
    if ((current & 0x08) && requests == 1) s.AppendStdout(std::string(70000, 'O'));
    s.FinishRequest(current);
    s.SkipFinishedRequest();
  }

  // Drains events; false once the session is closed.
  bool Drain(ServerSession& s, Transcript* t) {
    for (;;) {
      const ServerSession::Event e = s.Next();
      if (e.type == EventType::kNeedMore) break;
      t->events += std::to_string(static_cast<int>(e.type));
      t->events += ' ';
      t->events.append(e.data);
      t->events += '\n';
      switch (e.type) {
        case EventType::kRequest:
          Check(s);
          current = app[requests++ % 8];
          if (current & 0x01) Answer(s);  // ignores the body
          break;
        case EventType::kStdin: FUZZ_CHECK(!e.data.empty()); break;
        case EventType::kStdinEnd:
        case EventType::kAbort: Answer(s); break;
        default: break;
      }
      if (e.type == EventType::kClose) break;
    }
    t->output += s.PendingOutput();
    s.ConsumeOutput(s.output_size());
    return !s.closed();
  }

  Transcript Run(std::string_view stream, const std::vector<size_t>& pieces) {
    requests = 0;
    ServerSession s(limits);
    Transcript t;
    size_t next = 0;
    while (!stream.empty()) {
      const size_t n = std::min(next < pieces.size() ? pieces[next++] : stream.size(), stream.size());
      std::string_view piece = stream.substr(0, n);
      stream.remove_prefix(n);
      while (!piece.empty()) {
        const size_t took = s.Feed(piece);
        piece.remove_prefix(took);
        FUZZ_CHECK(s.buffered_input() <= ServerSession::kMaxInput);
        if (!Drain(s, &t)) return t;
        // A session that neither takes bytes nor yields events is stuck.
        FUZZ_CHECK(took > 0 || s.InputSpace().size() > 0);
      }
    }
    Drain(s, &t);
    return t;
  }
};

void CheckOutput(std::string_view out) {
  while (!out.empty()) {
    tfpm::fastcgi::Record r;
    size_t used = 0;
    tfpm::Status err;
    FUZZ_CHECK(tfpm::fastcgi::ParseRecord(out, &r, &used, &err) == tfpm::fastcgi::ParseResult::kRecord);
    const RecordType t = r.header.type;
    FUZZ_CHECK(t == RecordType::kGetValuesResult || t == RecordType::kUnknownType || t == RecordType::kEndRequest ||
               t == RecordType::kStdout || t == RecordType::kStderr);
    FUZZ_CHECK((t == RecordType::kGetValuesResult || t == RecordType::kUnknownType) == (r.header.request_id == 0));
    if (t == RecordType::kEndRequest || t == RecordType::kUnknownType) FUZZ_CHECK(r.content.size() == 8);
    out.remove_prefix(used);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 17) return 0;
  Driver d;
  d.app = data + 1;
  d.limits.max_conns = 4;
  d.limits.max_reqs = 4;
  d.limits.max_params = (data[0] & 0x0f) == 0x0f ? 10000 : (data[0] & 0x0f);
  d.limits.max_params_bytes = (data[0] >> 4) == 0x0f ? (1 << 20) : size_t{64} << (data[0] >> 5);
  uint64_t seed;
  std::memcpy(&seed, data + 9, sizeof seed);
  const std::string_view stream(reinterpret_cast<const char*>(data) + 17, size - 17);

  const Transcript whole = d.Run(stream, {});
  CheckOutput(whole.output);

  std::vector<size_t> pieces;
  for (size_t left = stream.size(); left > 0;) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    const size_t n = std::min<size_t>(left, 1 + (seed >> 33) % 64);
    pieces.push_back(n);
    left -= n;
  }
  FUZZ_CHECK(d.Run(stream, pieces) == whole);
  if (stream.size() <= 512) FUZZ_CHECK(d.Run(stream, std::vector<size_t>(stream.size(), 1)) == whole);
  return 0;
}
