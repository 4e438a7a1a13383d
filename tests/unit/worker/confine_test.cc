#include "worker/confine.h"

#include <doctest/doctest.h>

#include <csignal>
#include <string>
#include <vector>

#include "fakes/fake_credentials.h"

namespace tfpm::worker {
namespace {

using Calls = std::vector<std::string>;

os::Identity WwwData() {
  os::Identity id;
  id.name = "www-data";
  id.uid = 33;
  id.gid = 33;
  id.groups = {33, 4};
  return id;
}

ConfinePlan FullPlan() {
  ConfinePlan plan;
  plan.rlimit_files = 4096;
  plan.rlimit_core = os::kUnlimited;
  plan.priority = 5;
  plan.chroot = "/srv/site";
  plan.chdir = "/public";
  plan.user = WwwData();
  plan.parent_death_signal = SIGTERM;
  plan.parent = 100;
  return plan;
}

TEST_CASE("Confine: limits, priority, chroot, groups, gid, uid, checks, dumpable, death signal, in that order") {
  testing::FakeCredentials sys;
  auto r = Confine(FullPlan(), sys);
  REQUIRE(r.ok());
  CHECK(r->switched);
  CHECK(!r->ignored);
  CHECK(sys.calls == Calls{"rlimit files 4096", "rlimit core unlimited", "priority 5", "chroot /srv/site",
                           "chdir /public", "setgroups 33 4", "setgid 33", "setuid 33", "try setuid 0",
                           "dumpable 0", "pdeathsig 15"});
  CHECK(sys.euid == 33);
  CHECK(sys.sgid == 33);
}

TEST_CASE("Confine: process_dumpable sets the flag again after the switch") {
  testing::FakeCredentials sys;
  ConfinePlan plan = FullPlan();
  plan.dumpable = true;
  REQUIRE(Confine(plan, sys).ok());
  CHECK(sys.calls[sys.calls.size() - 2] == "dumpable 1");
}

TEST_CASE("Confine: a chroot without chdir starts in the new root") {
  testing::FakeCredentials sys;
  ConfinePlan plan;
  plan.chroot = "/srv/site";
  REQUIRE(Confine(plan, sys).ok());
  CHECK(sys.calls == Calls{"chroot /srv/site", "chdir /"});
}

TEST_CASE("Confine: not root, the user, chroot and priority are ignored (php-fpm); limits and chdir apply") {
  testing::FakeCredentials sys;
  sys.ruid = sys.euid = sys.suid = 1000;
  auto r = Confine(FullPlan(), sys);
  REQUIRE(r.ok());
  CHECK(r->ignored);
  CHECK(!r->switched);
  CHECK(sys.calls == Calls{"rlimit files 4096", "rlimit core unlimited", "chdir /public", "pdeathsig 15"});
}

TEST_CASE("Confine: a failing step stops everything after it") {
  for (const char* step : {"rlimit files", "chroot", "setgroups", "setgid", "setuid", "pdeathsig"}) {
    CAPTURE(step);
    testing::FakeCredentials sys;
    sys.fail = step;
    auto r = Confine(FullPlan(), sys);
    REQUIRE(!r.ok());
    CHECK(r.status().message().find(step) != std::string::npos);
    CHECK(sys.calls.back().rfind(step, 0) == 0);
  }
  // The uid is never changed before the groups and the gid are.
  testing::FakeCredentials sys;
  sys.fail = "setgid";
  REQUIRE(!Confine(FullPlan(), sys).ok());
  CHECK(sys.euid == 0);
}

TEST_CASE("Confine: a switch that could be undone is refused") {
  testing::FakeCredentials saved;
  saved.ignore_saved_uid = true;  // saved uid still 0
  auto r = Confine(FullPlan(), saved);
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("uids are 33/33/0") != std::string::npos);

  testing::FakeCredentials regain;
  regain.can_become_root = true;
  r = Confine(FullPlan(), regain);
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("root could be regained") != std::string::npos);
  CHECK(regain.calls.back() == "try setuid 0");
}

TEST_CASE("Confine: supplementary groups that are not the user's are refused") {
  testing::FakeCredentials sys;
  sys.ignore_setgroups = true;  // root's groups stay
  auto r = Confine(FullPlan(), sys);
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("supplementary groups") != std::string::npos);
}

TEST_CASE("Confine: a supervisor that died before the death signal was re-armed stops the worker") {
  testing::FakeCredentials sys;
  sys.parent = 1;  // reparented to init
  auto r = Confine(FullPlan(), sys);
  REQUIRE(!r.ok());
  CHECK(r.status().message().find("supervisor (pid 100) is gone") != std::string::npos);
  CHECK(sys.calls.back() == "pdeathsig 15");
}

}  // namespace
}  // namespace tfpm::worker
