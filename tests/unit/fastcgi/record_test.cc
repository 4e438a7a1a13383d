#include "fastcgi/record.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "fastcgi/protocol.h"

namespace tfpm::fastcgi {
namespace {

using namespace std::string_view_literals;

const uint8_t* U8(std::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

TEST_CASE("protocol constants have the spec's values") {
  CHECK(kVersion1 == 1);
  CHECK(kHeaderLength == 8);
  CHECK(kMaxContentLength == 65535);
  CHECK(kNullRequestId == 0);
  CHECK(kFlagKeepConn == 1);
  CHECK(static_cast<int>(RecordType::kBeginRequest) == 1);
  CHECK(static_cast<int>(RecordType::kStdout) == 6);
  CHECK(static_cast<int>(RecordType::kUnknownType) == 11);
  CHECK(static_cast<int>(Role::kFilter) == 3);
  CHECK(static_cast<int>(ProtocolStatus::kUnknownRole) == 3);
}

TEST_CASE("big-endian helpers") {
  uint8_t buf[4] = {};
  EncodeU16BE(0x1234, buf);
  CHECK(std::string_view(reinterpret_cast<char*>(buf), 2) == "\x12\x34"sv);
  CHECK(DecodeU16BE(U8("\xff\xfe"sv)) == 0xfffe);
  EncodeU32BE(0x80010203u, buf);
  CHECK(std::string_view(reinterpret_cast<char*>(buf), 4) == "\x80\x01\x02\x03"sv);
  CHECK(DecodeU32BE(U8("\xde\xad\xbe\xef"sv)) == 0xdeadbeefu);
}

TEST_CASE("EncodeHeader and DecodeHeader") {
  const auto golden = "\x01\x01\x12\x34\x00\x08\x00\x00"sv;
  RecordHeader header;
  header.type = RecordType::kBeginRequest;
  header.request_id = 0x1234;
  header.content_length = 8;

  SUBCASE("encode") {
    uint8_t out[kHeaderLength];
    EncodeHeader(header, out);
    CHECK(std::string_view(reinterpret_cast<char*>(out), kHeaderLength) == golden);
  }
  SUBCASE("decode") {
    const RecordHeader h = DecodeHeader(U8(golden));
    CHECK(h.version == 1);
    CHECK(h.type == RecordType::kBeginRequest);
    CHECK(h.request_id == 0x1234);
    CHECK(h.content_length == 8);
    CHECK(h.padding_length == 0);
  }
  SUBCASE("unknown type, padding and reserved byte") {
    const RecordHeader h = DecodeHeader(U8("\x01\x2a\xff\xff\xff\xff\x07\x99"sv));
    CHECK(static_cast<int>(h.type) == 42);
    CHECK(h.request_id == 0xffff);
    CHECK(h.content_length == 0xffff);
    CHECK(h.padding_length == 7);
    uint8_t out[kHeaderLength];
    EncodeHeader(h, out);  // the reserved byte is written as zero
    CHECK(std::string_view(reinterpret_cast<char*>(out), kHeaderLength) ==
          "\x01\x2a\xff\xff\xff\xff\x07\x00"sv);
  }
}

struct ParseCase {
  const char* name;
  std::string_view input;
  ParseResult result;
  RecordType type;
  uint16_t request_id;
  std::string_view content;
  size_t consumed;
};

TEST_CASE("ParseRecord table") {
  const ParseCase cases[] = {
      {"empty input", ""sv, ParseResult::kNeedMore, {}, 0, {}, 0},
      {"partial header", "\x01\x06\x00\x01\x00"sv, ParseResult::kNeedMore, {}, 0, {}, 0},
      {"content missing", "\x01\x06\x00\x01\x00\x05\x03\x00hel"sv, ParseResult::kNeedMore, {}, 0,
       {}, 0},
      {"padding missing", "\x01\x06\x00\x01\x00\x05\x03\x00hello\x00\x00"sv,
       ParseResult::kNeedMore, {}, 0, {}, 0},
      {"begin request", "\x01\x01\x12\x34\x00\x08\x00\x00\x00\x01\x01\x00\x00\x00\x00\x00"sv,
       ParseResult::kRecord, RecordType::kBeginRequest, 0x1234,
       "\x00\x01\x01\x00\x00\x00\x00\x00"sv, 16},
      {"stdout with padding", "\x01\x06\x00\x01\x00\x05\x03\x00hello\x00\x00\x00"sv,
       ParseResult::kRecord, RecordType::kStdout, 1, "hello"sv, 16},
      {"empty stream end", "\x01\x05\x00\x07\x00\x00\x00\x00"sv, ParseResult::kRecord,
       RecordType::kStdin, 7, ""sv, 8},
      {"padding only", "\x01\x04\x00\x01\x00\x00\x02\x00\x00\x00"sv, ParseResult::kRecord,
       RecordType::kParams, 1, ""sv, 10},
      {"trailing bytes not consumed", "\x01\x06\x00\x01\x00\x02\x00\x00hi\x01\x06"sv,
       ParseResult::kRecord, RecordType::kStdout, 1, "hi"sv, 10},
      {"unknown type is a record", "\x01\x2a\x00\x00\x00\x01\x00\x00Z"sv, ParseResult::kRecord,
       static_cast<RecordType>(42), 0, "Z"sv, 9},
      {"bad version", "\x02\x06\x00\x01\x00\x00\x00\x00"sv, ParseResult::kError, {}, 0, {}, 0},
      {"bad version before content arrives", "\x00\x06\x00\x01\xff\xff\x00\x00"sv,
       ParseResult::kError, {}, 0, {}, 0},
  };
  for (const ParseCase& c : cases) {
    INFO(std::string(c.name));
    Record record;
    size_t consumed = 99;
    Status error;
    const ParseResult result = ParseRecord(c.input, &record, &consumed, &error);
    REQUIRE(result == c.result);
    CHECK(consumed == c.consumed);
    if (result == ParseResult::kRecord) {
      CHECK(error.ok());
      CHECK(record.header.type == c.type);
      CHECK(record.header.request_id == c.request_id);
      CHECK(record.content == c.content);
      // The content is a view into the input, not a copy.
      CHECK(record.content.data() == c.input.data() + kHeaderLength);
    } else if (result == ParseResult::kError) {
      CHECK(error.code() == Status::Code::kProtocol);
      CHECK(error.message().find("FastCGI record: version") == 0);
    }
  }
}

TEST_CASE("ParseRecord error message names the version") {
  Record record;
  size_t consumed = 0;
  Status error;
  REQUIRE(ParseRecord("\x02\x01\x00\x01\x00\x08\x00\x00"sv, &record, &consumed, &error) ==
          ParseResult::kError);
  CHECK(error.message() == "FastCGI record: version 2, expected 1");
}

TEST_CASE("ParseRecord walks consecutive records") {
  const auto stream =
      "\x01\x06\x00\x01\x00\x03\x05\x00"
      "abc\x00\x00\x00\x00\x00"
      "\x01\x06\x00\x01\x00\x00\x00\x00"
      "\x01\x03\x00\x01\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"sv;
  std::vector<RecordType> types;
  std::string_view rest = stream;
  Record record;
  size_t consumed = 0;
  Status error;
  while (ParseRecord(rest, &record, &consumed, &error) == ParseResult::kRecord) {
    types.push_back(record.header.type);
    rest.remove_prefix(consumed);
  }
  CHECK(rest.empty());
  CHECK(types == std::vector<RecordType>{RecordType::kStdout, RecordType::kStdout,
                                         RecordType::kEndRequest});
}

TEST_CASE("DecodeBeginRequest") {
  BeginRequestBody body;
  SUBCASE("responder with keep-conn") {
    REQUIRE(DecodeBeginRequest("\x00\x01\x01\x00\x00\x00\x00\x00"sv, &body).ok());
    CHECK(body.role == Role::kResponder);
    CHECK(body.flags == kFlagKeepConn);
  }
  SUBCASE("raw role is kept") {
    REQUIRE(DecodeBeginRequest("\x01\x02\x00\x00\x00\x00\x00\x00"sv, &body).ok());
    CHECK(static_cast<uint16_t>(body.role) == 0x0102);
    CHECK(body.flags == 0);
  }
  SUBCASE("wrong size") {
    const Status s = DecodeBeginRequest("\x00\x01\x01"sv, &body);
    CHECK(s.code() == Status::Code::kProtocol);
    CHECK(s.message() == "FastCGI BEGIN_REQUEST: body is 3 bytes, expected 8");
  }
}

TEST_CASE("DecodeEndRequest") {
  uint32_t app_status = 0;
  ProtocolStatus status = ProtocolStatus::kRequestComplete;
  SUBCASE("overloaded with app status") {
    REQUIRE(DecodeEndRequest("\x01\x02\x03\x04\x02\x00\x00\x00"sv, &app_status, &status).ok());
    CHECK(app_status == 0x01020304u);
    CHECK(status == ProtocolStatus::kOverloaded);
  }
  SUBCASE("wrong size") {
    const Status s = DecodeEndRequest("\x00\x00\x00\x00\x00\x00\x00\x00\x00"sv, &app_status,
                                      &status);
    CHECK(s.code() == Status::Code::kProtocol);
    CHECK(s.message() == "FastCGI END_REQUEST: body is 9 bytes, expected 8");
  }
}

}  // namespace
}  // namespace tfpm::fastcgi
