// sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET per call
// ("READY=1", "RELOADING=1\nMONOTONIC_USEC=...", "STOPPING=1", "STATUS=...").
// No-op (returns false) when NOTIFY_SOCKET is unset.
#pragma once

#include <string_view>

namespace tfpm::os {

bool SdNotify(std::string_view message);

}  // namespace tfpm::os
