#include "ipc/notify.h"

#include <cstdio>

namespace tfpm::ipc {
namespace {

constexpr std::string_view kRecyclePrefix = "recycle ";

// Up to 64 bytes of `s`, non-printable ones as \xNN: safe in a log line.
std::string Shown(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 64; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > 64) out += "...";
  return out;
}

}  // namespace

std::string_view RecycleCauseName(Message m) {
  switch (m) {
    case Message::kRecycleMaxRequests: return "max_requests";
    case Message::kRecycleMemory: return "memory";
    case Message::kReady:
    case Message::kDraining: break;
  }
  return "";
}

std::string Encode(Message m) {
  switch (m) {
    case Message::kReady: return "ready\n";
    case Message::kDraining: return "draining\n";
    case Message::kRecycleMaxRequests:
    case Message::kRecycleMemory: return std::string(kRecyclePrefix) + std::string(RecycleCauseName(m)) + "\n";
  }
  return "";
}

Result<Message> DecodeLine(std::string_view line) {
  if (line == "ready") return Message::kReady;
  if (line == "draining") return Message::kDraining;
  if (line.starts_with(kRecyclePrefix)) {
    const std::string_view cause = line.substr(kRecyclePrefix.size());
    for (Message m : {Message::kRecycleMaxRequests, Message::kRecycleMemory}) {
      if (cause == RecycleCauseName(m)) return m;
    }
    return Status::Protocol("notify socket: unknown recycle cause \"" + Shown(cause) + "\"");
  }
  return Status::Protocol("notify socket: unknown message \"" + Shown(line) + "\"");
}

std::vector<Result<Message>> MessageReader::Feed(std::string_view bytes) {
  std::vector<Result<Message>> out;
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
    if (!overlong_) {
      if (partial_.size() + piece.size() > kMaxLineBytes) {
        out.emplace_back(Status::Protocol("notify socket: a line longer than " + std::to_string(kMaxLineBytes) +
                                          " bytes (\"" + Shown(partial_ + std::string(piece)) + "\")"));
        partial_.clear();
        overlong_ = true;
      } else {
        partial_.append(piece);
      }
    }
    if (nl == std::string_view::npos) break;  // the line goes on in the next receive
    if (!overlong_) out.push_back(DecodeLine(partial_));
    partial_.clear();
    overlong_ = false;
  }
  return out;
}

Result<Tag> DecodeTag(char byte) {
  switch (static_cast<Tag>(byte)) {
    case Tag::kConnection:
    case Tag::kStatus:
    case Tag::kStatusFull:
    case Tag::kStatusReply:
    case Tag::kErrorLog:
    case Tag::kAccessLog:
    case Tag::kSlowlog: return static_cast<Tag>(byte);
  }
  return Status::Protocol("notify socket: unknown descriptor tag \"" + Shown(std::string_view(&byte, 1)) + "\"");
}

Received SplitReceived(std::string_view data, bool has_fds) {
  Received r;
  r.text = data;
  if (has_fds && !data.empty()) {
    r.tag = data.back();
    r.text.remove_suffix(1);
  }
  return r;
}

}  // namespace tfpm::ipc
