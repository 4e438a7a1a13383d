#include "tools/fcgi-bench/request.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

namespace tfpm::bench {
namespace {

using namespace std::string_view_literals;

std::string Find(const ParamList& params, std::string_view name) {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return "<absent>";
}

TEST_CASE("EncodeRequest: golden bytes with FCGI_KEEP_CONN and a body") {
  const ParamList params = {{"A", "1"}};
  const std::string got = EncodeRequest(params, "hi", 1, true);
  const std::string_view want =
      // BEGIN_REQUEST, id 1, 8 bytes: role 1 (responder), flags 1 (keep conn)
      "\x01\x01\x00\x01\x00\x08\x00\x00" "\x00\x01\x01\x00\x00\x00\x00\x00"
      // PARAMS: lengths 1,1 + "A1" = 4 bytes, 4 bytes of padding
      "\x01\x04\x00\x01\x00\x04\x04\x00" "\x01\x01" "A1" "\x00\x00\x00\x00"
      // empty PARAMS
      "\x01\x04\x00\x01\x00\x00\x00\x00"
      // STDIN "hi", 6 bytes of padding
      "\x01\x05\x00\x01\x00\x02\x06\x00" "hi" "\x00\x00\x00\x00\x00\x00"
      // empty STDIN
      "\x01\x05\x00\x01\x00\x00\x00\x00"sv;
  CHECK(got == want);
}

TEST_CASE("EncodeRequest: no keep-conn, no body, request id 258") {
  const std::string got = EncodeRequest({}, "", 258, false);
  const std::string_view want =
      "\x01\x01\x01\x02\x00\x08\x00\x00" "\x00\x01\x00\x00\x00\x00\x00\x00"
      "\x01\x04\x01\x02\x00\x00\x00\x00"
      "\x01\x05\x01\x02\x00\x00\x00\x00"sv;
  CHECK(got == want);
}

TEST_CASE("EncodeRequest splits a large body into 65535-byte records") {
  const std::string body(70000, 'x');
  const std::string got = EncodeRequest({}, body, 1, false);
  // BEGIN (16) + empty PARAMS (8) + STDIN 65535 (+8 header, +1 padding)
  // + STDIN 4465 (+8, +7 padding) + empty STDIN (8)
  CHECK(got.size() == 16 + 8 + (8 + 65535 + 1) + (8 + 4465 + 7) + 8);
  CHECK(std::string_view(got).substr(24, 8) == "\x01\x05\x00\x01\xff\xff\x01\x00"sv);
}

TEST_CASE("BuildParams: nginx-like defaults from the command line") {
  RequestSpec spec;
  spec.script = "/srv/app/public/index.php";
  spec.query = "a=1&b=2";
  spec.method = "POST";
  spec.body = "12345";
  spec.headers = {{"Content-Type", "application/json"}, {"X-Trace-Id", "abc"}};
  const ParamList p = BuildParams(spec);
  CHECK(Find(p, "SCRIPT_FILENAME") == "/srv/app/public/index.php");
  CHECK(Find(p, "SCRIPT_NAME") == "/index.php");
  CHECK(Find(p, "DOCUMENT_ROOT") == "/srv/app/public");
  CHECK(Find(p, "REQUEST_URI") == "/index.php?a=1&b=2");
  CHECK(Find(p, "QUERY_STRING") == "a=1&b=2");
  CHECK(Find(p, "REQUEST_METHOD") == "POST");
  CHECK(Find(p, "CONTENT_LENGTH") == "5");
  CHECK(Find(p, "CONTENT_TYPE") == "application/json");
  CHECK(Find(p, "HTTP_X_TRACE_ID") == "abc");
  CHECK(Find(p, "HTTP_CONTENT_TYPE") == "<absent>");
  CHECK(Find(p, "HTTP_HOST") == "localhost");
  CHECK(Find(p, "GATEWAY_INTERFACE") == "CGI/1.1");
  CHECK(Find(p, "SERVER_PROTOCOL") == "HTTP/1.1");
}

TEST_CASE("BuildParams: GET without body, explicit script name, Host header, overrides") {
  RequestSpec spec;
  spec.script = "/srv/index.php";
  spec.script_name = "/app.php";
  spec.headers = {{"Host", "example.org"}};
  spec.extra_params = {{"REQUEST_URI", "/hello"}, {"APP_ENV", "prod"}};
  const ParamList p = BuildParams(spec);
  CHECK(Find(p, "SCRIPT_NAME") == "/app.php");
  CHECK(Find(p, "CONTENT_LENGTH") == "");
  CHECK(Find(p, "QUERY_STRING") == "");
  CHECK(Find(p, "REQUEST_URI") == "/hello");  // overridden in place
  CHECK(Find(p, "HTTP_HOST") == "example.org");
  CHECK(p.back() == std::pair<std::string, std::string>("APP_ENV", "prod"));  // appended
  int hosts = 0;
  for (const auto& kv : p) hosts += kv.first == "HTTP_HOST";
  CHECK(hosts == 1);
}

TEST_CASE("BuildParams: a request file replaces the defaults") {
  RequestSpec spec;
  spec.file_params = ParamList{{"SCRIPT_FILENAME", "/x.php"}, {"REQUEST_METHOD", "PUT"}};
  spec.body = "abc";
  spec.extra_params = {{"REQUEST_METHOD", "PATCH"}};
  const ParamList p = BuildParams(spec);
  REQUIRE(p.size() == 3);
  CHECK(p[0] == std::pair<std::string, std::string>("SCRIPT_FILENAME", "/x.php"));
  CHECK(p[1] == std::pair<std::string, std::string>("REQUEST_METHOD", "PATCH"));
  CHECK(p[2] == std::pair<std::string, std::string>("CONTENT_LENGTH", "3"));
}

TEST_CASE("ParseRequestFile: lines, comments, CRLF, '=' in values, errors") {
  auto ok = ParseRequestFile("# comment\nSCRIPT_FILENAME=/a.php\r\n\nQUERY_STRING=x=1&y=2\nEMPTY=");
  REQUIRE(ok.ok());
  REQUIRE(ok->size() == 3);
  CHECK((*ok)[0].second == "/a.php");
  CHECK((*ok)[1].second == "x=1&y=2");
  CHECK((*ok)[2].second == "");
  auto bad = ParseRequestFile("A=1\nnot a param\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("line 2") != std::string::npos);
  CHECK_FALSE(ParseRequestFile("=value").ok());
}

TEST_CASE("ParseHeaderArg and ParseParamArg") {
  auto h = ParseHeaderArg("  Accept :  text/html ");
  REQUIRE(h.ok());
  CHECK(h->first == "Accept");
  CHECK(h->second == "text/html");
  CHECK_FALSE(ParseHeaderArg("no colon").ok());
  CHECK_FALSE(ParseHeaderArg(": v").ok());
  auto p = ParseParamArg("N=a=b");
  REQUIRE(p.ok());
  CHECK(p->first == "N");
  CHECK(p->second == "a=b");
  CHECK_FALSE(ParseParamArg("novalue").ok());
}

}  // namespace
}  // namespace tfpm::bench
