#include "tools/fcgi-bench/validate.h"

#include "tools/fcgi-bench/sha256.h"

namespace tfpm::bench {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Up to 120 bytes of `body`, control bytes replaced by '.', for messages.
std::string Snippet(std::string_view body) {
  std::string out(body.substr(0, 120));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '.';
  }
  return "; body starts \"" + out + "\"";
}

Verdict Fail(ErrorKind kind, std::string message) {
  Verdict v;
  v.kind = kind;
  v.message = std::move(message);
  return v;
}

}  // namespace

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kConnect: return "connect";
    case ErrorKind::kWrite: return "write";
    case ErrorKind::kRead: return "read";
    case ErrorKind::kProtocol: return "protocol";
    case ErrorKind::kStatus: return "status";
    case ErrorKind::kBody: return "body";
    case ErrorKind::kTimeout: return "timeout";
  }
  return "unknown";
}

Verdict ValidateResponse(const fastcgi::ResponseReader& reader, const Expectation& expect) {
  if (!reader.done()) return Fail(ErrorKind::kProtocol, "response has no END_REQUEST");
  if (reader.protocol_status() != fastcgi::ProtocolStatus::kRequestComplete) {
    return Fail(ErrorKind::kProtocol,
                "END_REQUEST protocolStatus " +
                    std::to_string(static_cast<unsigned>(reader.protocol_status())));
  }
  fastcgi::CgiResponse response;
  const Status parsed = fastcgi::ParseCgiResponse(reader.stdout_data(), &response);
  if (!parsed.ok()) return Fail(ErrorKind::kProtocol, parsed.message());
  if (expect.status != 0 && response.status != expect.status) {
    Verdict v = Fail(ErrorKind::kStatus, "status " + std::to_string(response.status) +
                                             ", expected " + std::to_string(expect.status) +
                                             Snippet(response.body));
    v.body_bytes = response.body.size();
    return v;
  }
  if (expect.sha256_hex) {
    const std::string got = Sha256Hex(response.body);
    if (got != Lower(*expect.sha256_hex)) {
      Verdict v = Fail(ErrorKind::kBody, "body sha256 " + got + " (" +
                                             std::to_string(response.body.size()) +
                                             " bytes), expected " + *expect.sha256_hex +
                                             Snippet(response.body));
      v.body_bytes = response.body.size();
      return v;
    }
  }
  if (expect.body_contains &&
      response.body.find(*expect.body_contains) == std::string_view::npos) {
    Verdict v = Fail(ErrorKind::kBody, "body (" + std::to_string(response.body.size()) +
                                           " bytes) does not contain \"" +
                                           *expect.body_contains + "\"" +
                                           Snippet(response.body));
    v.body_bytes = response.body.size();
    return v;
  }
  Verdict v;
  v.ok = true;
  v.body_bytes = response.body.size();
  return v;
}

}  // namespace tfpm::bench
