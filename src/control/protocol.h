// The control protocol between `pm-ctl` and the supervisor: one JSON object
// per line over a unix stream socket, one request and one reply per
// connection. Documented in docs/control-protocol.md.
//
//   request:  {"cmd": "status"} | {"cmd": "stop", "fast": false} | {"cmd": "version"}
//   reply:    {"ok": true, ...} | {"ok": false, "error": "message"}
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "base/status.h"

namespace tfpm::control {

inline constexpr int kProtocolVersion = 1;
inline constexpr size_t kMaxLine = 64 * 1024;

using Json = nlohmann::json;

// Parses one request line; errors name what is wrong.
Result<Json> ParseRequest(std::string_view line);
// Serializes with a trailing newline.
std::string Encode(const Json& message);
Json ErrorReply(std::string_view message);

// Client side: connects to `socket_path`, sends `request`, returns the reply.
Result<Json> Call(const std::string& socket_path, const Json& request);

}  // namespace tfpm::control
