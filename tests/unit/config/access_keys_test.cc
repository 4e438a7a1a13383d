// listen_allowed_clients, listen_acl_users/listen_acl_groups and confine:
// defaults, values, and every error naming its place.
#include <doctest/doctest.h>

#include <string>

#include "config/load_yaml.h"
#include "config/validate.h"

namespace tfpm::config {
namespace {

std::string ErrorOf(const std::string& yaml) {
  Result<Config> c = LoadConfigString(yaml, "tfpm.yaml");
  return c.ok() ? "ok" : c.status().message();
}

TEST_CASE("access keys: off by default") {
  auto c = LoadConfigString("pools:\n  www:\n    listen: /run/www.sock\n", "tfpm.yaml");
  REQUIRE(c.ok());
  const PoolConfig& p = c->pools[0];
  CHECK(p.listen_allowed_clients.empty());
  CHECK(p.listen_acl_users.empty());
  CHECK(p.listen_acl_groups.empty());
  CHECK_FALSE(p.confine.enabled);
  CHECK(p.confine.required);
}

TEST_CASE("listen_allowed_clients: addresses and networks, kept as given") {
  auto c = LoadConfigString("pools:\n  www:\n    listen: 127.0.0.1:9000\n"
                            "    listen_allowed_clients: [127.0.0.1, \"::1\", 10.0.0.0/8, \"2001:db8::/32\"]\n",
                            "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->pools[0].listen_allowed_clients == std::vector<std::string>{"127.0.0.1", "::1", "10.0.0.0/8", "2001:db8::/32"});
}

TEST_CASE("listen_allowed_clients: errors name the entry") {
  CHECK(ErrorOf("pools:\n  www:\n    listen: 9000\n    listen_allowed_clients:\n      - 127.0.0.1\n"
                "      - localhost\n") ==
        "tfpm.yaml:6: pools.www.listen_allowed_clients[1]: must be an IPv4 or IPv6 address or a network "
        "(10.0.0.0/8), not a host name");
  CHECK(ErrorOf("pools:\n  www:\n    listen: 9000\n    listen_allowed_clients: [10.1.0.0/8]\n") ==
        "tfpm.yaml:4: pools.www.listen_allowed_clients[0]: has address bits set past its prefix length "
        "(write the network's first address, e.g. 10.0.0.0/8)");
  CHECK(ErrorOf("pools:\n  www:\n    listen: 9000\n    listen_allowed_clients: 127.0.0.1,10.0.0.1\n") ==
        "tfpm.yaml:4: pools.www.listen_allowed_clients: expected a list of strings");
  CHECK(ErrorOf("pools:\n  www:\n    listen: 9000\n    listen_allowed_clients: []\n") ==
        "tfpm.yaml:4: pools.www.listen_allowed_clients: must not be empty (leave the key out to allow everyone)");
  CHECK(ErrorOf("pools:\n  www:\n    listen: /run/www.sock\n    listen_allowed_clients: [127.0.0.1]\n") ==
        "tfpm.yaml:4: pools.www.listen_allowed_clients: applies to TCP sockets only (listen is a unix socket: "
        "use listen_mode, listen_owner/listen_group or listen_acl_users/listen_acl_groups)");
}

TEST_CASE("listen_acl_users / listen_acl_groups") {
  auto c = LoadConfigString("pools:\n  www:\n    listen: /run/www.sock\n    listen_acl_users: [www-data, \"1001\"]\n"
                            "    listen_acl_groups: [nginx]\n",
                            "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->pools[0].listen_acl_users == std::vector<std::string>{"www-data", "1001"});
  CHECK(c->pools[0].listen_acl_groups == std::vector<std::string>{"nginx"});
  CHECK(ErrorOf("pools:\n  www:\n    listen: 127.0.0.1:9000\n    listen_acl_users: [www-data]\n") ==
        "tfpm.yaml:4: pools.www.listen_acl_users: applies to unix sockets only (listen is a TCP address)");
  CHECK(ErrorOf("pools:\n  www:\n    listen: /run/www.sock\n    listen_owner: www-data\n"
                "    listen_acl_groups: [nginx]\n") ==
        "tfpm.yaml:4: pools.www.listen_owner: cannot be combined with listen_acl_users/listen_acl_groups "
        "(php-fpm ignores it then)");
  CHECK(ErrorOf("pools:\n  www:\n    listen: /run/www.sock\n    listen_acl_users: [\"a:b\"]\n") ==
        "tfpm.yaml:4: pools.www.listen_acl_users[0]: must be a user or group name or a numeric id");
  CHECK(ErrorOf("pools:\n  www:\n    listen: /run/www.sock\n    listen_acl_groups: []\n") ==
        "tfpm.yaml:4: pools.www.listen_acl_groups: must not be empty (leave the key out to allow everyone)");
}

TEST_CASE("confine: paths and required") {
  auto c = LoadConfigString("pools:\n  www:\n    listen: x\n    confine:\n      read: [/srv/www]\n"
                            "      write: [/var/lib/php/sessions, /tmp]\n      required: false\n",
                            "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  const PoolConfig::FsConfine& f = c->pools[0].confine;
  CHECK(f.enabled);
  CHECK(f.line == 4);
  CHECK(f.read == std::vector<std::string>{"/srv/www"});
  CHECK(f.write == std::vector<std::string>{"/var/lib/php/sessions", "/tmp"});
  CHECK_FALSE(f.required);
  // An empty mapping still confines (to the implicit paths only).
  c = LoadConfigString("pools:\n  www:\n    listen: x\n    confine: {}\n", "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->pools[0].confine.enabled);
  CHECK(c->pools[0].confine.required);
  CHECK(ErrorOf("pools:\n  www:\n    listen: x\n    confine:\n      read: [srv]\n") ==
        "tfpm.yaml:5: pools.www.confine.read[0]: must be an absolute path");
  CHECK(ErrorOf("pools:\n  www:\n    listen: x\n    confine:\n      exec: [/bin]\n") ==
        "tfpm.yaml:5: pools.www.confine.exec: unknown key");
  CHECK(ErrorOf("pools:\n  www:\n    listen: x\n    confine: /srv\n") ==
        "tfpm.yaml:4: pools.www.confine: expected a mapping");
}

}  // namespace
}  // namespace tfpm::config
