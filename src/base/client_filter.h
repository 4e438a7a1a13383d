// ClientFilter: which TCP peers may connect to a pool (the pool's
// `listen_allowed_clients`, php-fpm's listen.allowed_clients).
//
// An entry is an IPv4 or IPv6 address ("192.0.2.7", "2001:db8::7") or a
// network in CIDR notation ("10.0.0.0/8", "2001:db8::/32"). IPv4 entries
// also match IPv4-mapped IPv6 peers (::ffff:192.0.2.7), which is how an
// IPv4 client appears on a dual-stack listener (`listen: 9000`). An empty
// filter allows every peer.
//
// Pure logic over socket addresses (no system calls): immutable after
// Parse, so any number of threads may call Allows() at once.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tfpm::base {

class ClientFilter {
 public:
  ClientFilter() = default;  // allows every peer

  // Why `entry` is not a valid entry (a static sentence for a config error,
  // "must be ..."), or nullptr if it is. A network whose address has bits
  // set past the prefix ("10.0.0.1/8") is refused: it is almost always a
  // typo for a single address or a different network.
  static const char* EntryError(std::string_view entry);

  // Builds the filter; an invalid entry is an error naming it.
  static Result<ClientFilter> Parse(const std::vector<std::string>& entries);

  bool empty() const { return nets_.empty(); }

  // True if the peer is allowed. Peers that are not IPv4/IPv6 (a unix
  // socket's) are always allowed: the filter is about addresses.
  bool Allows(const sockaddr* peer, socklen_t length) const;

  // The peer as text for a log line: "192.0.2.7", "2001:db8::7" (an
  // IPv4-mapped peer is shown as IPv4); "unknown" for other families.
  static std::string PeerText(const sockaddr* peer, socklen_t length);

 private:
  // Every entry as an IPv6 network: IPv4 ones as ::ffff:a.b.c.d/(96+len).
  struct Net {
    std::array<uint8_t, 16> address{};
    int prefix = 128;
  };
  bool Matches(const std::array<uint8_t, 16>& peer) const;

  std::vector<Net> nets_;
};

}  // namespace tfpm::base
