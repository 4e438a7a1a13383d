// A pool's `confine` (docs/security.md "Filesystem confinement"): the
// Landlock rules a worker applies to itself after PHP's MINIT and before
// its PHP threads start, so every request runs confined.
//
// Rules() is pure (unit-tested): the operator's paths plus the few that
// tfpm adds so that PHP and the C library keep working (kImplicitRead,
// kImplicitWrite; those that do not exist are left out). Apply() makes the
// system calls through os/landlock.h.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"
#include "config/config.h"
#include "os/landlock.h"

namespace tfpm::worker {

// Read (and execute) beneath these, when they exist: random devices, time
// zone data, the resolver's and TLS's configuration files, the system
// libraries (glibc loads NSS modules on the first host name lookup), and
// /proc/self (the process's own entries).
inline constexpr std::string_view kImplicitRead[] = {
    "/dev/urandom", "/dev/random", "/etc/localtime", "/usr/share/zoneinfo", "/etc/hosts", "/etc/resolv.conf",
    "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols",
    "/etc/ssl", "/usr/lib/ssl", "/usr/share/ca-certificates", "/lib", "/lib64", "/usr/lib", "/usr/lib64",
    "/proc/self"};
// Read and write: the null device.
inline constexpr std::string_view kImplicitWrite[] = {"/dev/null"};

// The rules for `confine`; `exists(path)` says whether an implicit path
// exists (the operator's are kept as given: a missing one is an error).
os::LandlockPaths FsConfineRules(const config::PoolConfig::FsConfine& confine,
                                 const std::function<bool(const std::string&)>& exists);

// What Apply did.
enum class FsConfineOutcome { kOff, kConfined, kUnavailable };

// What to do with `confine` given the kernel's Landlock ABI (0 = none,
// `why` says so): kOff (not enabled), kConfined (apply it), kUnavailable
// (run unconfined: not required), or the error that stops the worker.
Result<FsConfineOutcome> DecideFsConfine(const config::PoolConfig::FsConfine& confine, int abi,
                                         const std::string& why);

// Applies `confine` to the calling process if enabled. A kernel without
// Landlock is an error if confine.required (the worker must then exit
// without serving), else kUnavailable (the caller logs a warning: the pool
// runs unconfined). Any other failure (a listed path missing) is an error.
Result<FsConfineOutcome> ApplyFsConfine(const config::PoolConfig::FsConfine& confine, std::string* why);

}  // namespace tfpm::worker
