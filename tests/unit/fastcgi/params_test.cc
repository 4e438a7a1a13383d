#include "fastcgi/params.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

namespace tfpm::fastcgi {
namespace {

using namespace std::string_view_literals;

struct DecodeCase {
  const char* name;
  std::string_view stream;
  std::vector<Param> pairs;
};

TEST_CASE("DecodeParams table") {
  const DecodeCase cases[] = {
      {"empty stream", ""sv, {}},
      {"one pair", "\x0b\x02SERVER_PORT80"sv, {{"SERVER_PORT", "80"}}},
      {"empty name and value", "\x00\x00"sv, {{"", ""}}},
      {"empty value", "\x0c\x00QUERY_STRING"sv, {{"QUERY_STRING", ""}}},
      {"two pairs, duplicates kept", "\x01\x01" "a1" "\x01\x01" "a2"sv, {{"a", "1"}, {"a", "2"}}},
      {"4-byte length for a short name is accepted", "\x80\x00\x00\x01\x01" "ab"sv, {{"a", "b"}}},
  };
  for (const DecodeCase& c : cases) {
    INFO(std::string(c.name));
    std::vector<Param> out = {{"stale", "entry"}};
    REQUIRE(DecodeParams(c.stream, &out).ok());
    CHECK(out == c.pairs);
  }
}

TEST_CASE("DecodeParams views point into the stream") {
  const auto stream = "\x04\x03HOSTa.b"sv;
  std::vector<Param> out;
  REQUIRE(DecodeParams(stream, &out).ok());
  REQUIRE(out.size() == 1);
  CHECK(out[0].first.data() == stream.data() + 2);
  CHECK(out[0].second.data() == stream.data() + 6);
}

TEST_CASE("DecodeParams stops at max_pairs with a limit error, not a protocol error") {
  std::string stream;
  for (int i = 0; i < 5; ++i) AppendParam("n" + std::to_string(i), "", &stream);
  std::vector<Param> out;
  CHECK(DecodeParams(stream, &out, 5).ok());
  CHECK(out.size() == 5);
  Status st = DecodeParams(stream, &out, 4);
  CHECK(st.code() == Status::Code::kInvalidArgument);
  CHECK(out.size() == 4);  // the fifth was never stored
  CHECK(DecodeParams("\x05", &out, 4).code() == Status::Code::kProtocol);
}

TEST_CASE("DecodeParamsTerminated: the pairs of DecodeParams, copied with a NUL after each string") {
  std::string stream;
  AppendParam("SERVER_PORT", "80", &stream);
  AppendParam("", "", &stream);
  AppendParam("QUERY_STRING", "", &stream);
  AppendParam(std::string(200, 'N'), std::string(300, 'v'), &stream);  // 4-byte lengths
  std::vector<Param> expected;
  REQUIRE(DecodeParams(stream, &expected).ok());

  std::string store(stream.size(), 'x');  // exactly as large as the stream
  std::vector<Param> out = {{"FCGI_ROLE", "RESPONDER"}};
  size_t used = 0;
  REQUIRE(DecodeParamsTerminated(stream, {store.data(), store.size()}, &out, &used).ok());
  REQUIRE(out.size() == expected.size() + 1);
  CHECK(out[0] == Param{"FCGI_ROLE", "RESPONDER"});  // appended after, not cleared
  size_t expect_used = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    CHECK(out[i + 1] == expected[i]);
    for (std::string_view s : {out[i + 1].first, out[i + 1].second}) {
      CHECK(s.data() == store.data() + expect_used);  // packed in stream order
      CHECK(s.data()[s.size()] == '\0');
      expect_used += s.size() + 1;
    }
  }
  CHECK(used == expect_used);
}

TEST_CASE("DecodeParamsTerminated: pairs of empty strings fill a store of the stream's size exactly") {
  const std::string stream(2 * 1000, '\0');  // 1,000 pairs "" = ""
  std::string store(stream.size(), 'x');
  std::vector<Param> out;
  size_t used = 0;
  REQUIRE(DecodeParamsTerminated(stream, {store.data(), store.size()}, &out, &used).ok());
  CHECK(out.size() == 1000);
  CHECK(used == stream.size());
}

TEST_CASE("DecodeParamsTerminated: errors as DecodeParams; max_pairs counts the stream's pairs only") {
  std::string stream;
  for (int i = 0; i < 5; ++i) AppendParam("n" + std::to_string(i), "v", &stream);
  std::string store(stream.size() + 8, 'x');
  std::vector<Param> out = {{"FCGI_ROLE", "RESPONDER"}};
  size_t used = 0;
  CHECK(DecodeParamsTerminated(stream, {store.data(), store.size()}, &out, &used, 5).ok());
  CHECK(out.size() == 6);
  out.resize(1);
  CHECK(DecodeParamsTerminated(stream, {store.data(), store.size()}, &out, &used, 4).code() ==
        Status::Code::kInvalidArgument);
  CHECK(out.size() == 5);  // the four before the limit
  out.resize(1);
  const std::string truncated = stream + "\x05";
  std::string store2(truncated.size(), 'x');
  Status st = DecodeParamsTerminated(truncated, {store2.data(), store2.size()}, &out, &used);
  std::vector<Param> plain;
  CHECK(st.code() == Status::Code::kProtocol);
  CHECK(st.message() == DecodeParams(truncated, &plain).message());
}

TEST_CASE("AppendParam encodes 1-byte and 4-byte lengths") {
  std::string out = "prefix";
  SUBCASE("short pair") {
    AppendParam("SERVER_PORT", "80", &out);
    CHECK(out == "prefix\x0b\x02SERVER_PORT80"sv);
  }
  SUBCASE("127 is the last 1-byte length") {
    AppendParam(std::string(127, 'n'), "", &out);
    CHECK(out.substr(6, 2) == "\x7f\x00"sv);
    CHECK(out.size() == 6 + 2 + 127);
  }
  SUBCASE("128 needs 4 bytes") {
    AppendParam("", std::string(128, 'v'), &out);
    CHECK(out.substr(6, 5) == "\x00\x80\x00\x00\x80"sv);
    CHECK(out.size() == 6 + 5 + 128);
  }
}

TEST_CASE("200-byte name and 70000-byte value round-trip") {
  const std::string name(200, 'N');
  const std::string value(70000, 'v');
  std::string stream;
  AppendParam(name, value, &stream);
  AppendParam("X", "y", &stream);
  // 200 = 0xc8, 70000 = 0x00011170, both with the high bit set.
  CHECK(stream.substr(0, 8) == "\x80\x00\x00\xc8\x80\x01\x11\x70"sv);
  CHECK(stream.size() == 8 + 200 + 70000 + 2 + 2);

  std::vector<Param> out;
  REQUIRE(DecodeParams(stream, &out).ok());
  REQUIRE(out.size() == 2);
  CHECK(out[0].first == name);
  CHECK(out[0].second == value);
  CHECK(out[1] == Param{"X", "y"});
}

struct ErrorCase {
  const char* name;
  std::string_view stream;
  std::string message;
};

TEST_CASE("DecodeParams errors name the byte offset") {
  const ErrorCase cases[] = {
      {"lone name length", "\x05"sv, "FastCGI params: truncated length at byte 0 of 1"},
      {"truncated 4-byte name length", "\x80\x00"sv,
       "FastCGI params: truncated length at byte 0 of 2"},
      {"truncated 4-byte value length", "\x01\x80\x00\x00"sv,
       "FastCGI params: truncated length at byte 0 of 4"},
      {"truncated second pair", "\x01\x01" "ab" "\x05"sv,
       "FastCGI params: truncated length at byte 4 of 5"},
      {"name beyond stream", "\x05\x00" "ab"sv,
       "FastCGI params: pair at byte 0 claims 5+0 bytes, 2 left in stream"},
      {"value beyond stream", "\x01\x01" "ab" "\x01\x09" "xyz"sv,
       "FastCGI params: pair at byte 4 claims 1+9 bytes, 3 left in stream"},
      {"huge 4-byte length", "\xff\xff\xff\xff\x00"sv,
       "FastCGI params: pair at byte 0 claims 2147483647+0 bytes, 0 left in stream"},
  };
  for (const ErrorCase& c : cases) {
    INFO(std::string(c.name));
    std::vector<Param> out;
    const Status s = DecodeParams(c.stream, &out);
    CHECK(s.code() == Status::Code::kProtocol);
    CHECK(s.message() == c.message);
  }
}

TEST_CASE("EncodeParamLengths returns the prefix size") {
  uint8_t buf[8];
  CHECK(EncodeParamLengths(1, 1, buf) == 2);
  CHECK(EncodeParamLengths(128, 1, buf) == 5);
  CHECK(EncodeParamLengths(1, 128, buf) == 5);
  CHECK(EncodeParamLengths(kMaxParamLength, kMaxParamLength, buf) == 8);
  CHECK(std::string_view(reinterpret_cast<char*>(buf), 8) == "\xff\xff\xff\xff\xff\xff\xff\xff"sv);
}

}  // namespace
}  // namespace tfpm::fastcgi
