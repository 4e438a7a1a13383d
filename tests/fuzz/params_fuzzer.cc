// Fuzz target: the FastCGI name-value pair decoder (fastcgi/params.h), as
// PARAMS and GET_VALUES feed it from a client.
//
// Input: byte 0 chooses max_pairs (0..255, 255 = no limit), the rest is the
// stream. Properties checked besides "no crash, leak or UB":
//  - never more than max_pairs pairs; every view points into the input;
//  - a decoded stream re-encodes (AppendParam) to pairs that decode equal;
//  - DecodeParamsInPlace, over a copy of the stream plus its spare byte in
//    an allocation of exactly that size, gives the same status and pairs,
//    each followed by a NUL, all inside the buffer, in order and apart,
//    after the pairs already in its vector.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fastcgi/params.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tfpm::fastcgi::Param;
  if (size == 0) return 0;
  const size_t max_pairs = data[0] == 255 ? SIZE_MAX : data[0];
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::vector<Param> pairs;
  const tfpm::Status st = tfpm::fastcgi::DecodeParams(stream, &pairs, max_pairs);

  // The stream in its own allocation, so that a byte read or written past
  // the spare one is caught by ASan.
  const size_t buffer_size = stream.size() + 1;
  std::unique_ptr<char[]> buffer(new char[buffer_size]);
  std::copy(stream.begin(), stream.end(), buffer.get());
  buffer[stream.size()] = 'x';
  const std::string_view buffer_view(buffer.get(), buffer_size);
  std::vector<Param> in_place = {{"FCGI_ROLE", "RESPONDER"}};
  const tfpm::Status st2 = tfpm::fastcgi::DecodeParamsInPlace({buffer.get(), buffer_size}, &in_place, max_pairs);
  FUZZ_CHECK(st2.code() == st.code() && st2.message() == st.message());
  FUZZ_CHECK(in_place.size() >= 1 && in_place[0].first == "FCGI_ROLE");
  const char* previous_end = buffer.get();
  for (size_t i = 1; i < in_place.size(); ++i) {
    for (std::string_view s : {in_place[i].first, in_place[i].second}) {
      FUZZ_CHECK(Inside(std::string_view(s.data(), s.size() + 1), buffer_view));
      FUZZ_CHECK(s.data() >= previous_end);
      FUZZ_CHECK(s.data()[s.size()] == '\0');
      previous_end = s.data() + s.size() + 1;
    }
  }
  if (!st.ok()) {
    FUZZ_CHECK(!st.message().empty());
    return 0;
  }
  FUZZ_CHECK(in_place.size() == pairs.size() + 1);
  FUZZ_CHECK(std::equal(pairs.begin(), pairs.end(), in_place.begin() + 1));
  FUZZ_CHECK(pairs.size() <= max_pairs);
  std::string again;
  for (const auto& [name, value] : pairs) {
    FUZZ_CHECK(Inside(name, stream) && Inside(value, stream));
    tfpm::fastcgi::AppendParam(name, value, &again);
  }
  // The encoding is not canonical (a short length may come in 4 bytes), so
  // compare decoded pairs, not bytes.
  std::vector<Param> decoded;
  FUZZ_CHECK(tfpm::fastcgi::DecodeParams(again, &decoded).ok());
  FUZZ_CHECK(decoded == pairs);
  return 0;
}
