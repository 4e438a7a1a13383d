#include "worker/fs_confine.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>

namespace tfpm::worker {
namespace {

bool Has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST_CASE("FsConfineRules: the operator's paths as given, then the implicit ones that exist") {
  config::PoolConfig::FsConfine c;
  c.enabled = true;
  c.read = {"/srv/www", "/etc/php"};
  c.write = {"/var/lib/php/sessions"};
  const std::set<std::string> present = {"/dev/urandom", "/etc/hosts", "/usr/lib", "/proc/self", "/dev/null"};
  os::LandlockPaths paths = FsConfineRules(c, [&](const std::string& p) { return present.count(p) > 0; });
  REQUIRE(paths.read.size() >= 2);
  CHECK(paths.read[0] == "/srv/www");
  CHECK(paths.read[1] == "/etc/php");
  CHECK(paths.read.size() == 2 + 4);
  CHECK(Has(paths.read, "/dev/urandom"));
  CHECK(Has(paths.read, "/etc/hosts"));
  CHECK(Has(paths.read, "/usr/lib"));
  CHECK(Has(paths.read, "/proc/self"));
  CHECK_FALSE(Has(paths.read, "/lib64"));  // absent: left out
  CHECK(paths.write == std::vector<std::string>{"/var/lib/php/sessions", "/dev/null"});
}

TEST_CASE("FsConfineRules: nothing writable beyond /dev/null unless listed; /tmp is never implicit") {
  config::PoolConfig::FsConfine c;
  c.enabled = true;
  os::LandlockPaths paths = FsConfineRules(c, [](const std::string&) { return true; });
  CHECK(paths.write == std::vector<std::string>{"/dev/null"});
  CHECK_FALSE(Has(paths.read, "/tmp"));
  CHECK_FALSE(Has(paths.read, "/etc"));
  CHECK_FALSE(Has(paths.read, "/"));
  CHECK(paths.read.size() == std::size(kImplicitRead));
}

TEST_CASE("ApplyFsConfine: off unless enabled (no system call made)") {
  config::PoolConfig::FsConfine c;
  std::string why;
  auto r = ApplyFsConfine(c, &why);
  REQUIRE(r.ok());
  CHECK(*r == FsConfineOutcome::kOff);
}

TEST_CASE("DecideFsConfine: a kernel without Landlock stops the worker unless confine.required is false") {
  config::PoolConfig::FsConfine c;
  const std::string why = "the kernel has no Landlock support (landlock_create_ruleset: ENOSYS)";
  auto r = DecideFsConfine(c, 0, why);
  REQUIRE(r.ok());
  CHECK(*r == FsConfineOutcome::kOff);  // not enabled: nothing to decide
  c.enabled = true;
  r = DecideFsConfine(c, 0, why);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "confine: the kernel has no Landlock support (landlock_create_ruleset: ENOSYS); refusing to run "
        "unconfined (set confine.required: false to run without it)");
  c.required = false;
  r = DecideFsConfine(c, 0, why);
  REQUIRE(r.ok());
  CHECK(*r == FsConfineOutcome::kUnavailable);
  for (int abi : {1, 3, 7}) {
    c.required = abi != 3;
    r = DecideFsConfine(c, abi, "");
    REQUIRE(r.ok());
    CHECK(*r == FsConfineOutcome::kConfined);
  }
}

}  // namespace
}  // namespace tfpm::worker
