// Which files `pm-ctl config-test FILE` may read for its caller. The daemon
// (often root) reads FILE on a path the caller chooses, and its errors
// quote lines of the file: without a check, a caller allowed on the control
// socket could read through the daemon what it may not read itself
// (/etc/shadow's lines in a YAML error, say).
//
// Allowed: any file when the caller is root; a file the caller owns; a file
// of root or of the daemon's user that the caller could read anyway (read
// permission for others, or for a group that is the caller's primary
// group). Everything else is refused without being read.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>

#include "base/status.h"

namespace tfpm::supervisor {

struct Caller {
  uid_t uid = 0;
  gid_t gid = 0;
};

// `st` is the fstat() of the opened file; `path` names it in the error.
Status CallerMayRead(const struct stat& st, const Caller& caller, uid_t daemon_uid, const std::string& path);

}  // namespace tfpm::supervisor
