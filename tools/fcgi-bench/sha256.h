// SHA-256 of response bodies, for validation: a thin RAII wrapper over
// OpenSSL's EVP digest API (libcrypto), incremental.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace tfpm::bench {

class Sha256 {
 public:
  static constexpr size_t kDigestLength = 32;
  using Digest = std::array<uint8_t, kDigestLength>;

  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // Hashes more bytes; may be called any number of times before Finish.
  void Update(std::string_view data);
  // Returns the digest. The object must not be used again except via Reset.
  Digest Finish();
  void Reset();

 private:
  EVP_MD_CTX* ctx_;
};

// Lower-case hex of SHA-256(data): 64 characters.
std::string Sha256Hex(std::string_view data);

// Lower-case hex of any bytes.
std::string ToHex(const uint8_t* data, size_t length);

}  // namespace tfpm::bench
