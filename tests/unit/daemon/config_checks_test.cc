// The system-facing checks of a loaded config, over real files in a
// temporary directory (they stat and open what they check).
#include "daemon/config_checks.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/load_yaml.h"
#include "support/temp_dir.h"

namespace tfpm::daemon {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

config::Config Load(const std::string& yaml) {
  auto c = config::LoadConfigString(yaml, "tfpm.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  return std::move(c.value());
}

bool IsRoot() { return ::geteuid() == 0; }

TEST_CASE("config checks: an unreadable worker script is named with its key and line") {
  TempDir d;
  const std::string script = (d.dir / "missing.php").string();
  auto cfg = Load("pools:\n  www:\n    listen: x\n    mode: worker\n    worker:\n      script: " + script + "\n");
  Status st = CheckFiles(cfg, DryRun::kNo);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "tfpm.yaml:2: pools.www.worker.script: " + script + ": No such file or directory");
  std::ofstream(script) << "<?php\n";
  CHECK(CheckFiles(cfg, DryRun::kNo).ok());
}

TEST_CASE("config checks: the access log is created at start, and only looked at by a dry run") {
  TempDir d;
  const std::string log = (d.dir / "access.log").string();
  auto cfg = Load("pools:\n  www:\n    listen: x\n    access_log: " + log + "\n");
  CHECK(CheckFiles(cfg, DryRun::kYes).ok());
  CHECK_FALSE(fs::exists(log));
  CHECK(CheckFiles(cfg, DryRun::kNo).ok());
  CHECK(fs::exists(log));
}

TEST_CASE("config checks: an access log in a missing directory, or that is a directory") {
  TempDir d;
  const std::string log = (d.dir / "no" / "access.log").string();
  auto cfg = Load("pools:\n  www:\n    listen: x\n    access_log: " + log + "\n");
  for (DryRun dry : {DryRun::kYes, DryRun::kNo}) {
    Status st = CheckFiles(cfg, dry);
    REQUIRE_FALSE(st.ok());
    CHECK(st.message() == "tfpm.yaml:2: pools.www.access_log: " + log + ": No such file or directory");
  }
  auto dir = Load("pools:\n  www:\n    listen: x\n    access_log: " + d.dir.string() + "\n");
  Status st = CheckFiles(dir, DryRun::kYes);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "tfpm.yaml:2: pools.www.access_log: " + d.dir.string() + ": Is a directory");
}

TEST_CASE("config checks: confine paths must exist, inside the chroot if there is one") {
  TempDir d;
  fs::create_directory(d.dir / "srv");
  const std::string ok = "pools:\n  www:\n    listen: x\n    user: nobody\n    confine:\n      read: [" +
                         (d.dir / "srv").string() + "]\n";
  std::vector<std::string> warnings;
  CHECK(CheckIsolation(Load(ok), false, &warnings).ok());
  const std::string missing = (d.dir / "gone").string();
  auto cfg = Load("pools:\n  www:\n    listen: x\n    user: nobody\n    confine:\n      write: [" + missing + "]\n");
  Status st = CheckIsolation(cfg, false, &warnings);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "tfpm.yaml:5: pools.www.confine.write: " + missing + ": No such file or directory");
  auto chrooted = Load("pools:\n  www:\n    listen: x\n    user: nobody\n    chroot: " + d.dir.string() +
                       "\n    confine:\n      read: [/srv, /etc]\n");
  st = CheckIsolation(chrooted, false, &warnings);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "tfpm.yaml:6: pools.www.confine.read: /etc (inside the chroot " + d.dir.string() +
                            "): No such file or directory");
}

TEST_CASE("config checks: as root, PHP never runs as root without --allow-root" * doctest::skip(!IsRoot())) {
  std::vector<std::string> warnings;
  auto none = Load("pools:\n  www:\n    listen: x\n");
  Status st = CheckIsolation(none, false, &warnings);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("tfpm.yaml:2: pools.www: no user: PHP would run as root") == 0);
  CHECK(CheckIsolation(none, true, &warnings).ok());
  auto root = Load("pools:\n  www:\n    listen: x\n    user: root\n");
  st = CheckIsolation(root, false, &warnings);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("tfpm.yaml:4: pools.www.user: root is root (uid 0, gid 0)") == 0);
  CHECK(CheckIsolation(Load("pools:\n  www:\n    listen: x\n    user: nobody\n"), false, &warnings).ok());
}

TEST_CASE("config checks: as root, a pool's user may not own the control socket" * doctest::skip(!IsRoot())) {
  std::vector<std::string> warnings;
  auto cfg = Load("daemon:\n  control_socket_owner: nobody\npools:\n  www:\n    listen: x\n    user: nobody\n");
  Status st = CheckIsolation(cfg, false, &warnings);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("pools.www.user: nobody may use the control socket (it is daemon.control_socket_owner)") !=
        std::string::npos);
}

TEST_CASE("config checks: as root, a chroot must be a directory with chdir inside it" * doctest::skip(!IsRoot())) {
  TempDir d;
  std::vector<std::string> warnings;
  const std::string base = "pools:\n  www:\n    listen: x\n    user: nobody\n    chroot: " + d.dir.string() + "\n";
  CHECK(CheckIsolation(Load(base), false, &warnings).ok());
  Status st = CheckIsolation(Load(base + "    chdir: /app\n"), false, &warnings);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "tfpm.yaml:5: pools.www.chdir: /app is not a directory inside the chroot (" +
                            d.dir.string() + "/app)");
  st = CheckIsolation(Load("pools:\n  www:\n    listen: x\n    user: nobody\n    chroot: " + d.dir.string() +
                           "/nothing\n"),
                      false, &warnings);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message() == "tfpm.yaml:5: pools.www.chroot: " + d.dir.string() + "/nothing: not a directory");
}

TEST_CASE("config checks: pools under two users warn about sockets anyone may use" * doctest::skip(!IsRoot())) {
  std::vector<std::string> warnings;
  auto cfg = Load("pools:\n  a:\n    listen: 127.0.0.1:9001\n    user: nobody\n  b:\n    listen: /run/b.sock\n"
                  "    user: daemon\n");
  REQUIRE(CheckIsolation(cfg, false, &warnings).ok());
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("tfpm.yaml:2: pools.a.listen: 127.0.0.1:9001 is a TCP socket") == 0);
}

}  // namespace
}  // namespace tfpm::daemon
