#include "control/protocol.h"

#include <doctest/doctest.h>

namespace tfpm::control {
namespace {

TEST_CASE("requests must be JSON objects with a string cmd") {
  struct Case {
    const char* line;
    const char* error;  // nullptr = valid
  };
  const Case cases[] = {
      {R"({"cmd":"status"})", nullptr},
      {R"({"cmd":"stop","fast":true})", nullptr},
      {R"(not json)", "request is not valid JSON"},
      {R"([1,2])", "request must be a JSON object"},
      {R"({"command":"status"})", "request needs a string \"cmd\""},
      {R"({"cmd":7})", "request needs a string \"cmd\""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.line);
    auto r = ParseRequest(c.line);
    if (c.error == nullptr) {
      CHECK(r.ok());
    } else {
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().message() == c.error);
    }
  }
}

TEST_CASE("encode is one line and round-trips") {
  Json j = {{"cmd", "stop"}, {"fast", false}, {"note", "a\nb"}};
  std::string line = Encode(j);
  CHECK(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);
  auto back = ParseRequest(line.substr(0, line.size() - 1));
  REQUIRE(back.ok());
  CHECK(*back == j);
  CHECK(ErrorReply("nope") == Json{{"ok", false}, {"error", "nope"}});
}

TEST_CASE("Call reports a missing socket as an error naming it") {
  auto r = Call("/nonexistent/tfpm.sock", Json{{"cmd", "status"}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("/nonexistent/tfpm.sock") != std::string::npos);
}

}  // namespace
}  // namespace tfpm::control
