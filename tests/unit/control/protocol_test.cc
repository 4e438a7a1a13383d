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

TEST_CASE("typed fields: a wrong type is an error naming the field, never an exception") {
  struct Case {
    const char* line;
    bool ok;
    bool value;
    const char* error;
  };
  const Case cases[] = {
      {R"({"cmd":"reload"})", true, true, nullptr},
      {R"({"cmd":"reload","wait":false})", true, false, nullptr},
      {R"({"cmd":"reload","wait":"no"})", false, false, "\"wait\" must be true or false"},
      {R"({"cmd":"reload","wait":0})", false, false, "\"wait\" must be true or false"},
      {R"({"cmd":"reload","wait":null})", false, false, "\"wait\" must be true or false"},
      {R"({"cmd":"reload","wait":[true]})", false, false, "\"wait\" must be true or false"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.line);
    auto request = ParseRequest(c.line);
    REQUIRE(request.ok());
    Result<bool> wait = true;
    REQUIRE_NOTHROW(wait = BoolField(*request, "wait", true));
    REQUIRE(wait.ok() == c.ok);
    if (c.ok) CHECK(*wait == c.value);
    if (!c.ok) CHECK(wait.status().message() == c.error);
  }
  auto request = ParseRequest(R"({"cmd":"config-test","file":7,"pool":"www"})");
  REQUIRE(request.ok());
  auto file = StringField(*request, "file");
  REQUIRE_FALSE(file.ok());
  CHECK(file.status().message() == "needs a string \"file\"");
  CHECK_FALSE(StringField(*request, "missing").ok());
  auto pool = StringField(*request, "pool");
  REQUIRE(pool.ok());
  CHECK(*pool == "www");
}

TEST_CASE("a reply holding bytes that are not UTF-8 still encodes, as U+FFFD") {
  // The "unknown key" error of a config with a Latin-1 key.
  const Json reply = ErrorReply("/etc/tfpm/tfpm.yaml:3: pools.www.caf\xe9: unknown key");
  std::string line;
  REQUIRE_NOTHROW(line = Encode(reply));
  CHECK(line.back() == '\n');
  Json back = Json::parse(line);
  CHECK(back["error"] == "/etc/tfpm/tfpm.yaml:3: pools.www.caf\xEF\xBF\xBD: unknown key");
}

}  // namespace
}  // namespace tfpm::control
