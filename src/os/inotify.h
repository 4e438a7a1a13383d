// inotify(7): change notifications for files and directories, as a
// readable descriptor for an event loop.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "os/unique_fd.h"

namespace tfpm::os {

// A non-blocking, close-on-exec inotify descriptor.
Result<UniqueFd> InotifyOpen();
// Watches `path` for the events in `mask` (IN_MODIFY...).
Status InotifyWatch(int inotify_fd, const std::string& path, uint32_t mask);
// Reads and discards every pending event; true if there was any.
bool InotifyDrain(int inotify_fd);

}  // namespace tfpm::os
