#include "base/client_filter.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <optional>

namespace tfpm::base {
namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

struct Parsed {
  std::array<uint8_t, 16> address{};
  int prefix = 128;
  const char* error = nullptr;
};

std::array<uint8_t, 16> Mapped(const in_addr& v4) {
  std::array<uint8_t, 16> out{};
  std::memcpy(out.data(), kMappedPrefix.data(), kMappedPrefix.size());
  std::memcpy(out.data() + 12, &v4, 4);
  return out;
}

bool BitsPastPrefix(const std::array<uint8_t, 16>& a, int prefix) {
  for (int bit = prefix; bit < 128; ++bit) {
    if (a[static_cast<size_t>(bit / 8)] & (0x80 >> (bit % 8))) return true;
  }
  return false;
}

Parsed ParseEntry(std::string_view entry) {
  Parsed p;
  std::string_view addr = entry;
  std::optional<int> length;
  if (size_t slash = entry.find('/'); slash != std::string_view::npos) {
    addr = entry.substr(0, slash);
    std::string_view digits = entry.substr(slash + 1);
    int n = -1;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    const bool digits_only = !digits.empty() && digits.size() <= 3 && digits.front() >= '0' && digits.front() <= '9';
    if (!digits_only || ec != std::errc() || ptr != digits.data() + digits.size()) {
      p.error = "must be an IPv4 or IPv6 address or a network (10.0.0.0/8): bad prefix length";
      return p;
    }
    length = n;
  }
  const std::string text(addr);
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    if (length && *length > 32) {
      p.error = "must be an IPv4 or IPv6 address or a network (10.0.0.0/8): IPv4 prefix length above 32";
      return p;
    }
    p.address = Mapped(v4);
    p.prefix = 96 + length.value_or(32);
  } else if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (length && *length > 128) {
      p.error = "must be an IPv4 or IPv6 address or a network (10.0.0.0/8): IPv6 prefix length above 128";
      return p;
    }
    std::memcpy(p.address.data(), &v6, 16);
    p.prefix = length.value_or(128);
  } else {
    p.error = "must be an IPv4 or IPv6 address or a network (10.0.0.0/8), not a host name";
    return p;
  }
  if (BitsPastPrefix(p.address, p.prefix)) {
    p.error = "has address bits set past its prefix length (write the network's first address, e.g. 10.0.0.0/8)";
  }
  return p;
}

// The peer as 16 bytes (IPv4 as IPv4-mapped IPv6); false for other families.
bool PeerBytes(const sockaddr* peer, socklen_t length, std::array<uint8_t, 16>* out) {
  if (peer == nullptr) return false;
  if (peer->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    *out = Mapped(reinterpret_cast<const sockaddr_in*>(peer)->sin_addr);
    return true;
  }
  if (peer->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    std::memcpy(out->data(), &reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr, 16);
    return true;
  }
  return false;
}

}  // namespace

const char* ClientFilter::EntryError(std::string_view entry) { return ParseEntry(entry).error; }

Result<ClientFilter> ClientFilter::Parse(const std::vector<std::string>& entries) {
  ClientFilter f;
  for (const std::string& e : entries) {
    Parsed p = ParseEntry(e);
    if (p.error != nullptr) return Status::InvalidArgument("'" + e + "' " + p.error);
    f.nets_.push_back(Net{p.address, p.prefix});
  }
  return f;
}

bool ClientFilter::Matches(const std::array<uint8_t, 16>& peer) const {
  for (const Net& n : nets_) {
    const size_t whole = static_cast<size_t>(n.prefix / 8);
    if (std::memcmp(peer.data(), n.address.data(), whole) != 0) continue;
    const int rest = n.prefix % 8;
    if (rest != 0) {
      const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
      if ((peer[whole] & mask) != (n.address[whole] & mask)) continue;
    }
    return true;
  }
  return false;
}

bool ClientFilter::Allows(const sockaddr* peer, socklen_t length) const {
  if (nets_.empty()) return true;
  std::array<uint8_t, 16> bytes;
  if (!PeerBytes(peer, length, &bytes)) return peer != nullptr && peer->sa_family == AF_UNIX;
  return Matches(bytes);
}

std::string ClientFilter::PeerText(const sockaddr* peer, socklen_t length) {
  std::array<uint8_t, 16> bytes;
  if (!PeerBytes(peer, length, &bytes)) return "unknown";
  char buf[INET6_ADDRSTRLEN] = {};
  if (std::memcmp(bytes.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0) {
    ::inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof(buf));
  } else {
    ::inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf));
  }
  return buf;
}

}  // namespace tfpm::base
