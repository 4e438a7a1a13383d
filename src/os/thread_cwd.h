// A thread's own working directory: after OwnWorkingDirectory() the calling
// thread's cwd, root and umask are its own copy (unshare(2) CLONE_FS), so
// its chdir() no longer moves the other threads' relative paths, and theirs
// no longer move its.
//
// Why: tfpm's libphp is built without PHP's virtual working directory
// (tools/lib/php-patches/zts/0001-thread-cwd.patch), so PHP changes the
// real cwd (php_execute_script() enters the script's directory, a script's
// chdir()) and resolves relative paths through the kernel as an NTS PHP
// does. Every thread that runs PHP calls this first (sapi::PhpThreadScope).
#pragma once

#include "base/status.h"

namespace tfpm::os {

// unshare(CLONE_FS) for the calling thread. The copy starts as the
// process's cwd, root and umask at the moment of the call. Idempotent.
Status OwnWorkingDirectory();

}  // namespace tfpm::os
