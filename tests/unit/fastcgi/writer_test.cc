#include "fastcgi/writer.h"

#include <doctest/doctest.h>

#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "fastcgi/params.h"
#include "fastcgi/record.h"

namespace tfpm::fastcgi {
namespace {

using namespace std::string_view_literals;

// Splits `bytes` into records; fails the test on anything but whole records.
std::vector<Record> ParseAll(std::string_view bytes) {
  std::vector<Record> records;
  Record record;
  size_t consumed = 0;
  Status error;
  while (!bytes.empty()) {
    REQUIRE(ParseRecord(bytes, &record, &consumed, &error) == ParseResult::kRecord);
    records.push_back(record);
    bytes.remove_prefix(consumed);
  }
  return records;
}

TEST_CASE("PaddingLength rounds up to a multiple of 8") {
  const size_t lengths[] = {0, 1, 5, 7, 8, 9, 16, 65535};
  const uint8_t paddings[] = {0, 7, 3, 1, 0, 7, 0, 1};
  for (size_t i = 0; i < std::size(lengths); ++i) {
    CAPTURE(lengths[i]);
    CHECK(PaddingLength(lengths[i]) == paddings[i]);
  }
}

TEST_CASE("AppendStream golden bytes") {
  std::string out = "keep";
  SUBCASE("empty content appends nothing") {
    AppendStream(RecordType::kStdout, 1, "", &out);
    CHECK(out == "keep");
  }
  SUBCASE("padded record") {
    AppendStream(RecordType::kStdout, 1, "hello", &out);
    CHECK(out == "keep\x01\x06\x00\x01\x00\x05\x03\x00hello\x00\x00\x00"sv);
  }
  SUBCASE("multiple of 8 needs no padding") {
    AppendStream(RecordType::kStderr, 0x0102, "12345678", &out);
    CHECK(out == "keep\x01\x07\x01\x02\x00\x08\x00\x00" "12345678"sv);
  }
}

TEST_CASE("AppendStreamEnd golden bytes") {
  std::string out;
  AppendStreamEnd(RecordType::kStdout, 1, &out);
  CHECK(out == "\x01\x06\x00\x01\x00\x00\x00\x00"sv);
}

TEST_CASE("200000-byte STDOUT splits into 65535-byte records") {
  std::string content(200000, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
  std::string out;
  AppendStream(RecordType::kStdout, 3, content, &out);

  // 3 * 65535 + 3395; padding 1, 1, 1, 5.
  CHECK(out.size() == 3 * (8 + 65535 + 1) + (8 + 3395 + 5));
  CHECK(out.substr(0, 8) == "\x01\x06\x00\x03\xff\xff\x01\x00"sv);
  const std::vector<Record> records = ParseAll(out);
  REQUIRE(records.size() == 4);
  std::string joined;
  const uint16_t lengths[] = {65535, 65535, 65535, 3395};
  const uint8_t paddings[] = {1, 1, 1, 5};
  for (size_t i = 0; i < records.size(); ++i) {
    CAPTURE(i);
    CHECK(records[i].header.type == RecordType::kStdout);
    CHECK(records[i].header.request_id == 3);
    CHECK(records[i].header.content_length == lengths[i]);
    CHECK(records[i].header.padding_length == paddings[i]);
    joined.append(records[i].content);
  }
  CHECK(joined == content);
  // Padding bytes are zero.
  CHECK(out[8 + 65535] == '\0');
  CHECK(out.substr(out.size() - 5) == std::string(5, '\0'));
}

TEST_CASE("AppendEndRequest golden bytes") {
  std::string out;
  SUBCASE("complete") {
    AppendEndRequest(1, 0, ProtocolStatus::kRequestComplete, &out);
    CHECK(out ==
          "\x01\x03\x00\x01\x00\x08\x00\x00"
          "\x00\x00\x00\x00\x00\x00\x00\x00"sv);
  }
  SUBCASE("app status and protocol status") {
    AppendEndRequest(0xabcd, 0x01020304, ProtocolStatus::kOverloaded, &out);
    CHECK(out ==
          "\x01\x03\xab\xcd\x00\x08\x00\x00"
          "\x01\x02\x03\x04\x02\x00\x00\x00"sv);
  }
  SUBCASE("round-trips through DecodeEndRequest") {
    AppendEndRequest(9, 255, ProtocolStatus::kUnknownRole, &out);
    const std::vector<Record> records = ParseAll(out);
    REQUIRE(records.size() == 1);
    uint32_t app_status = 0;
    ProtocolStatus status = ProtocolStatus::kRequestComplete;
    REQUIRE(DecodeEndRequest(records[0].content, &app_status, &status).ok());
    CHECK(app_status == 255);
    CHECK(status == ProtocolStatus::kUnknownRole);
  }
}

TEST_CASE("AppendGetValuesResult golden bytes") {
  std::string out;
  SUBCASE("one variable") {
    AppendGetValuesResult({{"FCGI_MPXS_CONNS", "0"}}, &out);
    // 2 + 15 + 1 = 18 bytes of content, 6 of padding, request id 0.
    CHECK(out ==
          "\x01\x0a\x00\x00\x00\x12\x06\x00"
          "\x0f\x01" "FCGI_MPXS_CONNS" "0"
          "\x00\x00\x00\x00\x00\x00"sv);
  }
  SUBCASE("three variables decode back") {
    AppendGetValuesResult({{std::string(kMaxConns), "64"},
                           {std::string(kMaxReqs), "64"},
                           {std::string(kMpxsConns), "0"}},
                          &out);
    const std::vector<Record> records = ParseAll(out);
    REQUIRE(records.size() == 1);
    CHECK(records[0].header.type == RecordType::kGetValuesResult);
    CHECK(records[0].header.request_id == kNullRequestId);
    std::vector<Param> pairs;
    REQUIRE(DecodeParams(records[0].content, &pairs).ok());
    CHECK(pairs == std::vector<Param>{{"FCGI_MAX_CONNS", "64"},
                                      {"FCGI_MAX_REQS", "64"},
                                      {"FCGI_MPXS_CONNS", "0"}});
  }
  SUBCASE("no variables is one empty record") {
    AppendGetValuesResult({}, &out);
    CHECK(out == "\x01\x0a\x00\x00\x00\x00\x00\x00"sv);
  }
}

TEST_CASE("AppendUnknownType golden bytes") {
  std::string out;
  AppendUnknownType(42, &out);
  CHECK(out ==
        "\x01\x0b\x00\x00\x00\x08\x00\x00"
        "\x2a\x00\x00\x00\x00\x00\x00\x00"sv);
}

TEST_CASE("AppendBeginRequest golden bytes") {
  std::string out;
  AppendBeginRequest(1, Role::kResponder, kFlagKeepConn, &out);
  CHECK(out ==
        "\x01\x01\x00\x01\x00\x08\x00\x00"
        "\x00\x01\x01\x00\x00\x00\x00\x00"sv);
  BeginRequestBody body;
  REQUIRE(DecodeBeginRequest(ParseAll(out)[0].content, &body).ok());
  CHECK(body.role == Role::kResponder);
  CHECK(body.flags == kFlagKeepConn);
}

TEST_CASE("AppendParams") {
  std::string out;
  SUBCASE("small pairs, golden bytes") {
    AppendParams(1, {{"A", "1"}, {"SCRIPT_NAME", "/i.php"}}, &out);
    // Content: 2+1+1 + 2+11+6 = 23 bytes, padding 1; then the empty PARAMS record.
    CHECK(out ==
          "\x01\x04\x00\x01\x00\x17\x01\x00"
          "\x01\x01" "A1" "\x0b\x06" "SCRIPT_NAME/i.php" "\x00"
          "\x01\x04\x00\x01\x00\x00\x00\x00"sv);
  }
  SUBCASE("no pairs is just the end record") {
    AppendParams(5, {}, &out);
    CHECK(out == "\x01\x04\x00\x05\x00\x00\x00\x00"sv);
  }
  SUBCASE("a 70000-byte value straddles records") {
    const std::string name(200, 'N');
    const std::string value(70000, 'v');
    AppendParams(2, {{"A", "1"}, {name, value}, {"Z", "9"}}, &out);
    const std::vector<Record> records = ParseAll(out);
    REQUIRE(records.size() == 3);
    CHECK(records[0].header.content_length == 65535);
    CHECK(records[0].header.padding_length == 1);
    CHECK(records[1].header.content_length == 4 + 8 + 200 + 70000 + 4 - 65535);
    CHECK(records[2].header.content_length == 0);
    std::string stream;
    for (const Record& r : records) {
      CHECK(r.header.type == RecordType::kParams);
      CHECK(r.header.request_id == 2);
      stream.append(r.content);
    }
    std::vector<Param> pairs;
    REQUIRE(DecodeParams(stream, &pairs).ok());
    REQUIRE(pairs.size() == 3);
    CHECK(pairs[0] == Param{"A", "1"});
    CHECK(pairs[1].first == name);
    CHECK(pairs[1].second == value);
    CHECK(pairs[2] == Param{"Z", "9"});
  }
}

TEST_CASE("AppendStdin") {
  std::string out;
  SUBCASE("body then end record") {
    AppendStdin(1, "ab", &out);
    CHECK(out ==
          "\x01\x05\x00\x01\x00\x02\x06\x00" "ab\x00\x00\x00\x00\x00\x00"
          "\x01\x05\x00\x01\x00\x00\x00\x00"sv);
  }
  SUBCASE("empty body is only the end record") {
    AppendStdin(1, "", &out);
    CHECK(out == "\x01\x05\x00\x01\x00\x00\x00\x00"sv);
  }
}

TEST_CASE("appending never shrinks a reused buffer") {
  std::string out;
  out.reserve(1024);
  const size_t capacity = out.capacity();
  AppendBeginRequest(1, Role::kResponder, 0, &out);
  AppendParams(1, {{"A", "B"}}, &out);
  AppendStdin(1, "x", &out);
  const size_t written = out.size();
  out.clear();
  AppendBeginRequest(1, Role::kResponder, 0, &out);
  AppendParams(1, {{"A", "B"}}, &out);
  AppendStdin(1, "x", &out);
  CHECK(out.size() == written);
  CHECK(out.capacity() == capacity);
}

}  // namespace
}  // namespace tfpm::fastcgi
