#include "worker/scoreboard_request.h"

#include <doctest/doctest.h>

#include <string_view>
#include <vector>

namespace tfpm::worker {
namespace {

using Param = fastcgi::Exchange::Param;

scoreboard::SlotWriter::Request Read(const std::vector<Param>& params) {
  scoreboard::SlotWriter::Request r;
  r.wait_us = 77;
  r.content_length = 99;  // overwritten, also when there is no CONTENT_LENGTH
  ReadScoreboardRequest(params, r);
  CHECK(r.wait_us == 77);
  return r;
}

TEST_CASE("ReadScoreboardRequest: each field from its param, among others of the same lengths") {
  const std::vector<Param> params = {
      {"REQUEST_URL", "/wrong"},         // 11 bytes like REQUEST_URI
      {"SCRIPT_NAMES", "/wrong"},        // 12 like QUERY_STRING
      {"QUERY_STRING", "a=1&b=2"},
      {"HTTP_HOST", "example.org"},
      {"REQUEST_METHOD", "POST"},
      {"CONTENT_LENGTHS", "5"},          // 15 like SCRIPT_FILENAME
      {"SCRIPT_FILENAME", "/srv/www/index.php"},
      {"CONTENT_LENGTH", "1234"},
      {"REQUEST_URI", "/index.php?a=1&b=2"},
      {"SCRIPT_NAME", "/index.php"},
      {"CONTENT_TYPE", "text/plain"},   // 12
      {"REMOTE_ADDRES", "x"},           // 13: no field has that length
  };
  const auto r = Read(params);
  CHECK(r.method == "POST");
  CHECK(r.uri == "/index.php?a=1&b=2");
  CHECK(r.script == "/srv/www/index.php");
  CHECK(r.script_name == "/index.php");
  CHECK(r.query == "a=1&b=2");
  CHECK(r.content_length == 1234);
  // Views into the params, not copies.
  CHECK(r.uri.data() == params[8].second.data());
}

TEST_CASE("ReadScoreboardRequest: the first param of a name wins, even an empty one") {
  const auto r = Read({{"REQUEST_URI", ""},
                       {"REQUEST_METHOD", "GET"},
                       {"REQUEST_URI", "/second"},
                       {"REQUEST_METHOD", "DELETE"},
                       {"CONTENT_LENGTH", "7"},
                       {"CONTENT_LENGTH", "8"},
                       {"SCRIPT_NAME", "/a.php"},
                       {"SCRIPT_NAME", "/b.php"},
                       {"SCRIPT_FILENAME", "/a"},
                       {"SCRIPT_FILENAME", "/b"},
                       {"QUERY_STRING", "x"},
                       {"QUERY_STRING", "y"}});
  CHECK(r.uri == "");
  CHECK(r.method == "GET");
  CHECK(r.content_length == 7);
  CHECK(r.script_name == "/a.php");
  CHECK(r.script == "/a");
  CHECK(r.query == "x");
}

TEST_CASE("ReadScoreboardRequest: once all six are found, later params change nothing") {
  const auto r = Read({{"SCRIPT_FILENAME", "/a"},
                       {"QUERY_STRING", "q"},
                       {"REQUEST_METHOD", "GET"},
                       {"CONTENT_LENGTH", "3"},
                       {"SCRIPT_NAME", "/s"},
                       {"REQUEST_URI", "/u"},
                       {"REQUEST_URI", "/later"},
                       {"CONTENT_LENGTH", "4"}});
  CHECK(r.uri == "/u");
  CHECK(r.content_length == 3);
  // Five found, the sixth last: it is still read.
  CHECK(Read({{"REQUEST_URI", "/u"},
              {"SCRIPT_NAME", "/s"},
              {"CONTENT_LENGTH", "3"},
              {"REQUEST_METHOD", "GET"},
              {"QUERY_STRING", "q"},
              {"HTTP_HOST", "h"},
              {"REQUEST_URI", "/again"},
              {"SCRIPT_FILENAME", "/last"}})
            .script == "/last");
}

TEST_CASE("ReadScoreboardRequest: none of the params, or values that are not numbers") {
  auto r = Read({{"HTTP_HOST", "h"}, {"", ""}});
  CHECK(r.method.empty());
  CHECK(r.uri.empty());
  CHECK(r.script.empty());
  CHECK(r.script_name.empty());
  CHECK(r.query.empty());
  CHECK(r.content_length == 0);
  CHECK(Read({}).content_length == 0);
  // Leading digits only, as from_chars reads them; a sign or garbage is 0.
  CHECK(Read({{"CONTENT_LENGTH", "12abc"}}).content_length == 12);
  CHECK(Read({{"CONTENT_LENGTH", "-5"}}).content_length == 0);
  CHECK(Read({{"CONTENT_LENGTH", "x"}}).content_length == 0);
  // Past uint64_t: from_chars leaves the value alone, so 0.
  CHECK(Read({{"CONTENT_LENGTH", "99999999999999999999999"}}).content_length == 0);
  // A default-constructed (null) value reads as "".
  r = Read({{"REQUEST_URI", std::string_view()}, {"REQUEST_URI", "/late"}});
  CHECK(r.uri.empty());
  CHECK(r.uri.data() != nullptr);
}

}  // namespace
}  // namespace tfpm::worker
