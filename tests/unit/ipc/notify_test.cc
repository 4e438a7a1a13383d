// The notify socket's messages and tags (ipc/notify.h): each encodes to the
// bytes the other side decodes back; split lines are reassembled; garbage,
// unknown words and overlong lines decode to errors, never to a message.
#include "ipc/notify.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

using namespace tfpm;
using ipc::Message;

namespace {

constexpr Message kAll[] = {Message::kReady, Message::kDraining, Message::kRecycleMaxRequests,
                            Message::kRecycleMemory};

// The messages (ok) and errors (nullopt) `feeds` decode to, in order.
std::vector<std::optional<Message>> Decode(const std::vector<std::string>& feeds) {
  ipc::MessageReader reader;
  std::vector<std::optional<Message>> out;
  for (const std::string& f : feeds) {
    for (const auto& r : reader.Feed(f)) out.push_back(r.ok() ? std::optional<Message>(r.value()) : std::nullopt);
  }
  return out;
}

}  // namespace

TEST_CASE("each message encodes to one line that decodes back to it") {
  CHECK(ipc::Encode(Message::kReady) == "ready\n");
  CHECK(ipc::Encode(Message::kDraining) == "draining\n");
  CHECK(ipc::Encode(Message::kRecycleMaxRequests) == "recycle max_requests\n");
  CHECK(ipc::Encode(Message::kRecycleMemory) == "recycle memory\n");
  for (Message m : kAll) {
    const std::string line = ipc::Encode(m);
    REQUIRE(line.back() == '\n');
    CHECK(line.size() <= ipc::kMaxLineBytes + 1);
    auto back = ipc::DecodeLine(std::string_view(line).substr(0, line.size() - 1));
    REQUIRE(back.ok());
    CHECK(*back == m);
  }
  CHECK(ipc::RecycleCauseName(Message::kRecycleMemory) == "memory");
  CHECK(ipc::RecycleCauseName(Message::kReady).empty());
  for (std::string_view cause : ipc::kRecycleCauses) {
    auto m = ipc::DecodeLine("recycle " + std::string(cause));
    REQUIRE(m.ok());
    CHECK(ipc::RecycleCauseName(*m) == cause);
  }
}

TEST_CASE("unknown and malformed lines are errors that show the bytes") {
  for (std::string_view bad : {"", "READY", "ready ", " ready", "readyx", "recycle", "recycle ", "recycle cpu",
                               "recycle memory ", "draining\r"}) {
    auto m = ipc::DecodeLine(bad);
    CHECK_MESSAGE(!m.ok(), bad);
  }
  auto m = ipc::DecodeLine(std::string("\x01\xff\\", 3));
  REQUIRE(!m.ok());
  CHECK(m.status().message().find("\\x01\\xff\\x5c") != std::string::npos);
}

TEST_CASE("lines split anywhere across receives are reassembled") {
  std::string stream;
  for (Message m : kAll) stream += ipc::Encode(m);
  const std::vector<std::optional<Message>> want(std::begin(kAll), std::end(kAll));
  CHECK(Decode({stream}) == want);
  // Byte by byte.
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  CHECK(Decode(bytes) == want);
  // Random splits.
  std::mt19937 rng(14);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> parts;
    for (size_t at = 0; at < stream.size();) {
      const size_t n = std::uniform_int_distribution<size_t>(0, 9)(rng);
      parts.push_back(stream.substr(at, n));
      at += n;
    }
    CHECK(Decode(parts) == want);
  }
  // A line without its "\n" yet is no message.
  CHECK(Decode({"ready"}).empty());
}

TEST_CASE("garbage yields errors and does not swallow the messages after it") {
  const auto got = Decode({"hello\nready\n\n", "recycle nothing\ndraining\n"});
  const std::vector<std::optional<Message>> want = {std::nullopt, Message::kReady, std::nullopt, std::nullopt,
                                                    Message::kDraining};
  CHECK(got == want);
  // Old matching found "ready" anywhere in a receive; now only the whole line.
  CHECK(Decode({"not ready\n"}) == std::vector<std::optional<Message>>{std::nullopt});
}

TEST_CASE("an overlong line is one error, dropped up to its newline, even split") {
  const std::string junk(200, 'x');
  CHECK(Decode({junk + "\nready\n"}) == std::vector<std::optional<Message>>{std::nullopt, Message::kReady});
  CHECK(Decode({junk.substr(0, 50), junk.substr(50), "x\nre", "ady\n"}) ==
        std::vector<std::optional<Message>>{std::nullopt, Message::kReady});
  // Exactly kMaxLineBytes is still a line (an unknown one), one more is overlong.
  CHECK(Decode({std::string(ipc::kMaxLineBytes, 'y') + "\n"}).size() == 1);
  CHECK(Decode({std::string(ipc::kMaxLineBytes + 1, 'y'), "\n"}).size() == 1);
  // Random bytes never crash and every result is an error or a message.
  std::mt19937 rng(18);
  ipc::MessageReader reader;
  for (int i = 0; i < 2000; ++i) {
    std::string chunk(std::uniform_int_distribution<size_t>(0, 80)(rng), '\0');
    for (char& c : chunk) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    (void)reader.Feed(chunk);
  }
  const auto after = reader.Feed("\nready\n");
  REQUIRE(!after.empty());
  CHECK(after.back().ok());
}

TEST_CASE("descriptor tags decode; any other byte is an error") {
  for (ipc::Tag t : {ipc::Tag::kConnection, ipc::Tag::kStatus, ipc::Tag::kStatusFull, ipc::Tag::kStatusReply,
                     ipc::Tag::kErrorLog, ipc::Tag::kAccessLog, ipc::Tag::kSlowlog}) {
    auto back = ipc::DecodeTag(ipc::Encode(t));
    REQUIRE(back.ok());
    CHECK(*back == t);
  }
  int known = 0;
  for (int b = 0; b < 256; ++b) known += ipc::DecodeTag(static_cast<char>(b)).ok() ? 1 : 0;
  CHECK(known == 7);
}

TEST_CASE("a receive with descriptors ends with their tag; one without is all text") {
  auto r = ipc::SplitReceived("ready\nc", true);
  CHECK(r.text == "ready\n");
  CHECK(r.tag == 'c');
  r = ipc::SplitReceived("ready\nc", false);
  CHECK(r.text == "ready\nc");
  CHECK(!r.tag);
  r = ipc::SplitReceived("", true);
  CHECK(r.text.empty());
  CHECK(!r.tag);
}
