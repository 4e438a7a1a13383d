#include "supervisor/caller_file.h"

#include <doctest/doctest.h>

namespace tfpm::supervisor {
namespace {

struct stat File(uid_t uid, gid_t gid, mode_t mode) {
  struct stat st = {};
  st.st_uid = uid;
  st.st_gid = gid;
  st.st_mode = S_IFREG | mode;
  return st;
}

constexpr uid_t kDaemon = 0;
const Caller kAlice{1000, 1000};

TEST_CASE("root may have any regular file checked") {
  CHECK(CallerMayRead(File(1234, 1234, 0600), Caller{0, 0}, kDaemon, "/f").ok());
}

TEST_CASE("a caller may have its own files checked, whatever their mode") {
  CHECK(CallerMayRead(File(1000, 50, 0600), kAlice, kDaemon, "/f").ok());
}

TEST_CASE("root's files only when the caller could read them itself") {
  CHECK(CallerMayRead(File(0, 0, 0644), kAlice, kDaemon, "/etc/tfpm/tfpm.yaml").ok());
  CHECK(CallerMayRead(File(0, 1000, 0640), kAlice, kDaemon, "/f").ok());  // the caller's group
  Status shadow = CallerMayRead(File(0, 42, 0640), kAlice, kDaemon, "/etc/shadow");
  CHECK_FALSE(shadow.ok());
  CHECK(shadow.message().rfind("/etc/shadow: not readable by uid 1000", 0) == 0);
  CHECK_FALSE(CallerMayRead(File(0, 0, 0600), kAlice, kDaemon, "/root/secret").ok());
}

TEST_CASE("another user's files are refused even when readable by all") {
  CHECK_FALSE(CallerMayRead(File(1234, 1234, 0644), kAlice, kDaemon, "/home/bob/x.yaml").ok());
}

TEST_CASE("files of the daemon's own user count as root's") {
  const uid_t daemon = 999;
  CHECK(CallerMayRead(File(999, 999, 0644), kAlice, daemon, "/f").ok());
  CHECK_FALSE(CallerMayRead(File(999, 999, 0600), kAlice, daemon, "/f").ok());
}

}  // namespace
}  // namespace tfpm::supervisor
