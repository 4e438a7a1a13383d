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

// The stream plus DecodeParamsInPlace's spare byte, in its own buffer.
std::string WithSpare(std::string_view stream) {
  std::string b(stream);
  b.push_back('x');  // not a NUL: the decoder must write it
  return b;
}

TEST_CASE("DecodeParamsInPlace: the pairs of DecodeParams, each string followed by a NUL, inside the buffer") {
  std::string stream;
  AppendParam("SERVER_PORT", "80", &stream);
  AppendParam("", "", &stream);
  AppendParam("QUERY_STRING", "", &stream);
  AppendParam("", "v", &stream);
  AppendParam(std::string(200, 'N'), std::string(300, 'v'), &stream);  // 4-byte lengths
  AppendParam("A", std::string(127, 'w'), &stream);                      // 1 + 4
  AppendParam(std::string(128, 'M'), "z", &stream);                      // 4 + 1
  AppendParam("LAST", "end", &stream);
  std::vector<Param> expected;
  REQUIRE(DecodeParams(stream, &expected).ok());
  // Copies: the views of `expected` point into `stream`, which stays.
  const std::vector<std::pair<std::string, std::string>> want(expected.begin(), expected.end());

  std::string buffer = WithSpare(stream);
  std::vector<Param> out = {{"FCGI_ROLE", "RESPONDER"}};
  REQUIRE(DecodeParamsInPlace({buffer.data(), buffer.size()}, &out).ok());
  REQUIRE(out.size() == want.size() + 1);
  CHECK(out[0] == Param{"FCGI_ROLE", "RESPONDER"});  // appended after, not cleared
  const char* previous_end = buffer.data();
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(out[i + 1].first == want[i].first);
    CHECK(out[i + 1].second == want[i].second);
    for (std::string_view s : {out[i + 1].first, out[i + 1].second}) {
      CHECK(s.data() >= previous_end);  // in stream order, no overlap
      CHECK(s.data() + s.size() < buffer.data() + buffer.size());
      CHECK(s.data()[s.size()] == '\0');
      previous_end = s.data() + s.size() + 1;
    }
  }
  CHECK(buffer.back() == '\0');  // the last value's NUL took the spare byte
}

// Names are moved by word loads and stores up to 32 bytes (memmove beyond):
// every length across those edges, with bytes that differ at each position.
TEST_CASE("DecodeParamsInPlace: names of every length from 0 to 40 arrive intact") {
  std::string stream;
  std::vector<std::pair<std::string, std::string>> want;
  for (size_t n = 0; n <= 40; ++n) {
    std::string name, value;
    for (size_t i = 0; i < n; ++i) name.push_back(static_cast<char>('A' + (i * 7 + n) % 26));
    for (size_t i = 0; i < n % 5; ++i) value.push_back(static_cast<char>('a' + i));
    AppendParam(name, value, &stream);
    want.emplace_back(name, value);
  }
  std::string buffer = WithSpare(stream);
  std::vector<Param> out;
  REQUIRE(DecodeParamsInPlace({buffer.data(), buffer.size()}, &out).ok());
  REQUIRE(out.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    CHECK(out[i].first == want[i].first);
    CHECK(out[i].second == want[i].second);
    CHECK(out[i].first.data()[out[i].first.size()] == '\0');
    CHECK(out[i].second.data()[out[i].second.size()] == '\0');
  }
}

TEST_CASE("DecodeParamsInPlace: pairs of empty strings, and an empty stream") {
  std::string buffer = WithSpare(std::string(2 * 1000, '\0'));  // 1,000 pairs "" = ""
  std::vector<Param> out;
  REQUIRE(DecodeParamsInPlace({buffer.data(), buffer.size()}, &out).ok());
  REQUIRE(out.size() == 1000);
  for (const auto& [n, v] : out) {
    CHECK(n.empty());
    CHECK(v.empty());
    CHECK(n.data()[0] == '\0');
    CHECK(v.data()[0] == '\0');
  }
  std::string empty = WithSpare("");
  out.clear();
  REQUIRE(DecodeParamsInPlace({empty.data(), empty.size()}, &out).ok());
  CHECK(out.empty());
  CHECK(empty == "x");  // nothing decoded, nothing written
}

TEST_CASE("DecodeParamsInPlace: errors as DecodeParams; max_pairs counts the stream's pairs only") {
  std::string stream;
  for (int i = 0; i < 5; ++i) AppendParam("n" + std::to_string(i), "v", &stream);
  std::string buffer = WithSpare(stream);
  std::vector<Param> out = {{"FCGI_ROLE", "RESPONDER"}};
  CHECK(DecodeParamsInPlace({buffer.data(), buffer.size()}, &out, 5).ok());
  CHECK(out.size() == 6);
  out.resize(1);
  buffer = WithSpare(stream);
  CHECK(DecodeParamsInPlace({buffer.data(), buffer.size()}, &out, 4).code() == Status::Code::kInvalidArgument);
  REQUIRE(out.size() == 5);  // the four before the limit, terminated
  CHECK(out[4] == Param{"n3", "v"});
  CHECK(out[4].second.data()[1] == '\0');
  out.resize(1);
  const std::string truncated = stream + "\x05";
  buffer = WithSpare(truncated);
  Status st = DecodeParamsInPlace({buffer.data(), buffer.size()}, &out);
  std::vector<Param> plain;
  CHECK(st.code() == Status::Code::kProtocol);
  CHECK(st.message() == DecodeParams(truncated, &plain).message());
  CHECK(out.size() == 6);
  CHECK(out[5].second.data()[1] == '\0');
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
