// sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET per call
// ("READY=1", "RELOADING=1\nMONOTONIC_USEC=...", "STOPPING=1", "STATUS=...").
// No-op (returns false) when NOTIFY_SOCKET is unset.
#pragma once

#include <chrono>
#include <string_view>
#include <vector>

namespace tfpm::os {

bool SdNotify(std::string_view message);

// systemd's watchdog interval from WATCHDOG_USEC (when WATCHDOG_PID is unset
// or ours); 0 = no watchdog.
std::chrono::microseconds SdWatchdogInterval();

// Socket activation: the descriptors systemd passed (LISTEN_FDS from fd 3 on,
// when LISTEN_PID is ours). Unsets LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES
// so nothing started later mistakes them for its own.
std::vector<int> SdListenFds();

}  // namespace tfpm::os
