// Fuzz target: the control protocol (control/protocol.h) as the supervisor
// reads it from a pm-ctl caller: ParseRequest on the line, then the typed
// field readers on the keys the supervisor reads, then the reply encoder
// on the request and on an error quoting the raw line.
//
// Properties besides "no crash, leak or UB" (an exception escaping is a
// crash here: nothing on this path may throw):
//  - every Encode() output is one line of valid JSON that parses back to
//    the same value (for an error quoting invalid UTF-8: to some string);
//  - a parsed request is an object with a string "cmd".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "control/protocol.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using tfpm::control::Json;

void CheckEncodes(const Json& value, bool exact) {
  const std::string line = tfpm::control::Encode(value);
  FUZZ_CHECK(!line.empty() && line.back() == '\n');
  FUZZ_CHECK(line.find('\n') == line.size() - 1);
  const Json back = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!back.is_discarded());
  if (exact) FUZZ_CHECK(back == value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto request = tfpm::control::ParseRequest(line);
  if (!request.ok()) {
    CheckEncodes(tfpm::control::ErrorReply(request.status().message()), true);
    return 0;
  }
  const Json& j = *request;
  FUZZ_CHECK(j.is_object());
  FUZZ_CHECK(j.contains("cmd") && j["cmd"].is_string());
  for (const char* key : {"fast", "wait", "json", "full", "cmd"}) {
    auto b = tfpm::control::BoolField(j, key, false);
    if (b.ok()) FUZZ_CHECK(!j.contains(key) || j[key].is_boolean());
  }
  for (const char* key : {"cmd", "pool", "file", "fast"}) {
    auto s = tfpm::control::StringField(j, key);
    if (s.ok()) FUZZ_CHECK(j[key].is_string() && j[key].get<std::string>() == *s);
  }
  CheckEncodes(j, true);
  // An error reply quoting the raw bytes (which may not be UTF-8) still
  // encodes to valid JSON.
  CheckEncodes(tfpm::control::ErrorReply(line), false);
  return 0;
}
