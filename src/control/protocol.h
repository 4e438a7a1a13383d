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
// Serializes with a trailing newline. Never throws on text that is not
// UTF-8 (a config file's Latin-1 key quoted in an error): such bytes become
// U+FFFD, so every reply is valid JSON.
std::string Encode(const Json& message);
Json ErrorReply(std::string_view message);

// Typed fields of a request: the value of `key`, `fallback` when it is
// absent, an error naming the field when it has another type ("\"wait\"
// must be true or false"). Requests come from outside: never read a field
// with Json::value()/get(), which throw on a wrong type.
Result<bool> BoolField(const Json& request, std::string_view key, bool fallback);
// Required string field: an error when absent or not a string.
Result<std::string> StringField(const Json& request, std::string_view key);

// Client side: connects to `socket_path`, sends `request`, returns the reply.
Result<Json> Call(const std::string& socket_path, const Json& request);

}  // namespace tfpm::control
