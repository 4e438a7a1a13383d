#include "base/client_filter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <doctest/doctest.h>

using tfpm::base::ClientFilter;

namespace {

sockaddr_in V4(const char* text) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  REQUIRE(::inet_pton(AF_INET, text, &a.sin_addr) == 1);
  return a;
}

sockaddr_in6 V6(const char* text) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  REQUIRE(::inet_pton(AF_INET6, text, &a.sin6_addr) == 1);
  return a;
}

bool Allows(const ClientFilter& f, const char* peer) {
  if (std::strchr(peer, ':') != nullptr) {
    sockaddr_in6 a = V6(peer);
    return f.Allows(reinterpret_cast<const sockaddr*>(&a), sizeof(a));
  }
  sockaddr_in a = V4(peer);
  return f.Allows(reinterpret_cast<const sockaddr*>(&a), sizeof(a));
}

ClientFilter Make(std::vector<std::string> entries) {
  auto f = ClientFilter::Parse(entries);
  REQUIRE(f.ok());
  return f.value();
}

}  // namespace

TEST_CASE("ClientFilter: an empty filter allows every peer") {
  ClientFilter f;
  CHECK(f.empty());
  CHECK(Allows(f, "192.0.2.1"));
  CHECK(Allows(f, "2001:db8::1"));
}

TEST_CASE("ClientFilter: single IPv4 addresses, as php-fpm's allowed_clients") {
  ClientFilter f = Make({"127.0.0.1", "192.0.2.7"});
  CHECK(Allows(f, "127.0.0.1"));
  CHECK(Allows(f, "192.0.2.7"));
  CHECK_FALSE(Allows(f, "127.0.0.2"));
  CHECK_FALSE(Allows(f, "192.0.2.8"));
  CHECK_FALSE(Allows(f, "::1"));
}

TEST_CASE("ClientFilter: an IPv4 entry matches the IPv4-mapped peer of a dual-stack listener") {
  ClientFilter f = Make({"127.0.0.1"});
  CHECK(Allows(f, "::ffff:127.0.0.1"));
  CHECK_FALSE(Allows(f, "::ffff:127.0.0.2"));
  CHECK_FALSE(Allows(f, "::127.0.0.1"));  // IPv4-compatible, not mapped
}

TEST_CASE("ClientFilter: IPv4 networks") {
  ClientFilter f = Make({"10.0.0.0/8", "192.168.4.0/22", "198.51.100.128/25"});
  CHECK(Allows(f, "10.0.0.0"));
  CHECK(Allows(f, "10.255.255.255"));
  CHECK_FALSE(Allows(f, "11.0.0.0"));
  CHECK(Allows(f, "192.168.4.1"));
  CHECK(Allows(f, "192.168.7.255"));
  CHECK_FALSE(Allows(f, "192.168.8.0"));
  CHECK_FALSE(Allows(f, "192.168.3.255"));
  CHECK(Allows(f, "198.51.100.128"));
  CHECK(Allows(f, "198.51.100.255"));
  CHECK_FALSE(Allows(f, "198.51.100.127"));
  CHECK(Allows(f, "::ffff:10.1.2.3"));
}

TEST_CASE("ClientFilter: 0.0.0.0/0 allows every IPv4 peer and no IPv6 one") {
  ClientFilter f = Make({"0.0.0.0/0"});
  CHECK(Allows(f, "203.0.113.9"));
  CHECK(Allows(f, "::ffff:203.0.113.9"));
  CHECK_FALSE(Allows(f, "2001:db8::1"));
}

TEST_CASE("ClientFilter: IPv6 addresses and networks") {
  ClientFilter f = Make({"::1", "2001:db8::/33", "fe80::1:2/127"});
  CHECK(Allows(f, "::1"));
  CHECK_FALSE(Allows(f, "::2"));
  CHECK(Allows(f, "2001:db8::5"));
  CHECK(Allows(f, "2001:db8:7fff:ffff::1"));
  CHECK_FALSE(Allows(f, "2001:db8:8000::1"));
  CHECK(Allows(f, "fe80::1:2"));
  CHECK(Allows(f, "fe80::1:3"));
  CHECK_FALSE(Allows(f, "fe80::1:4"));
  CHECK_FALSE(Allows(f, "127.0.0.1"));
}

TEST_CASE("ClientFilter: unix peers pass; other families do not") {
  ClientFilter f = Make({"127.0.0.1"});
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  CHECK(f.Allows(reinterpret_cast<const sockaddr*>(&un), sizeof(un)));
  sockaddr other{};
  other.sa_family = AF_PACKET;
  CHECK_FALSE(f.Allows(&other, sizeof(other)));
  CHECK_FALSE(f.Allows(nullptr, 0));
  // A truncated address is not read past its length.
  sockaddr_in a = V4("127.0.0.1");
  CHECK_FALSE(f.Allows(reinterpret_cast<const sockaddr*>(&a), 4));
}

TEST_CASE("ClientFilter: invalid entries are refused with a reason") {
  for (const char* bad : {"", "localhost", "10.0.0.300", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x",
                          "10.0.0.0/8/8", "10.0.0.0/-1", "::1/129", "10.0.0.1/8", "2001:db8::1/32",
                          " 127.0.0.1", "127.0.0.1,10.0.0.1", "10.0.0.0/0008"}) {
    CAPTURE(bad);
    CHECK(ClientFilter::EntryError(bad) != nullptr);
  }
  CHECK(std::string(ClientFilter::EntryError("10.0.0.1/8")).find("past its prefix") != std::string::npos);
  auto f = ClientFilter::Parse({"127.0.0.1", "example.org"});
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().message() == "'example.org' must be an IPv4 or IPv6 address or a network (10.0.0.0/8), not a host name");
  for (const char* good : {"127.0.0.1", "127.0.0.1/32", "0.0.0.0/0", "::/0", "::1", "2001:db8::/32",
                           "::ffff:127.0.0.1"}) {
    CAPTURE(good);
    CHECK(ClientFilter::EntryError(good) == nullptr);
  }
}

TEST_CASE("ClientFilter: PeerText shows a mapped peer as IPv4") {
  sockaddr_in6 m = V6("::ffff:192.0.2.7");
  CHECK(ClientFilter::PeerText(reinterpret_cast<const sockaddr*>(&m), sizeof(m)) == "192.0.2.7");
  sockaddr_in6 v6 = V6("2001:db8::7");
  CHECK(ClientFilter::PeerText(reinterpret_cast<const sockaddr*>(&v6), sizeof(v6)) == "2001:db8::7");
  sockaddr_in v4 = V4("10.1.2.3");
  CHECK(ClientFilter::PeerText(reinterpret_cast<const sockaddr*>(&v4), sizeof(v4)) == "10.1.2.3");
}
