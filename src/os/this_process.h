// The calling process: its ids, its environment, leaving it at once, and
// asking the kernel whether it may use a path.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/status.h"

namespace tfpm::os {

pid_t CurrentPid();
pid_t ParentPid();
// geteuid(2).
uid_t EffectiveUid();

// Flushes stdio and ends the process with `code` at once: no destructors,
// no atexit handlers, threads and requests in flight are cut.
[[noreturn]] void ExitNow(int code);

// access(2) of `path` with `mode` (R_OK, X_OK...): true if allowed, false if
// refused (EACCES); other errors (ENOENT, ELOOP...) as a Status.
Result<bool> Accessible(const std::string& path, int mode);

// CPUs this process may run on (sched_getaffinity(2)); at least 1.
int UsableCpus();

// execv(2): runs `path` in place of this process with `args` (args[0]
// included). Returns only on failure: "exec <path>: <strerror>".
Status ReplaceProcess(const std::string& path, const std::vector<std::string>& args);

// Empties the environment and overwrites the bytes of every variable it
// held with zeros (clearenv(3) only forgets them; most live in the initial
// environment the kernel placed on the stack, readable as
// /proc/self/environ). Nothing may hold a pointer into it afterwards.
void ScrubEnvironment();
// setenv(3), overwriting.
Status SetEnvironmentVariable(const std::string& name, const std::string& value);

}  // namespace tfpm::os
