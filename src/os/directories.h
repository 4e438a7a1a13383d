// Creating the directories a file needs (the pid file, a unix socket, the
// control socket), as `mkdir -p` of its parent.
//
// Thread-safety: as the system calls (any thread).
#pragma once

#include <string>

#include "base/status.h"

namespace tfpm::os {

// Creates every missing directory above `path` (its last component is not
// created), each with `mode` (less the umask). A directory that exists, or
// that another process creates meanwhile, is not an error; anything else
// (a file in the way, EACCES) is, naming the directory.
Status MakeParentDirectories(const std::string& path, unsigned mode);

}  // namespace tfpm::os
