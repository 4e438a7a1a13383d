// SHA-256 (FIPS 180-4), incremental. Small and dependency-free so that the
// response validator (and its unit tests) need no crypto library.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tfpm::bench {

class Sha256 {
 public:
  static constexpr size_t kDigestLength = 32;
  using Digest = std::array<uint8_t, kDigestLength>;

  Sha256();
  // Hashes more bytes; may be called any number of times before Finish.
  void Update(std::string_view data);
  // Returns the digest. The object must not be used again except via Reset.
  Digest Finish();
  void Reset();

 private:
  void Compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// Lower-case hex of SHA-256(data): 64 characters.
std::string Sha256Hex(std::string_view data);

// Lower-case hex of any bytes.
std::string ToHex(const uint8_t* data, size_t length);

}  // namespace tfpm::bench
