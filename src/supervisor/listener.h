// A pool's listening socket as the supervisor holds it. Shared (shared_ptr)
// by the pool that serves it and by every worker started on it, so a socket
// whose pool was removed by a reload stays open until its last draining
// worker exits; then it is closed and a unix socket file removed (unless
// systemd owns it, or a graceful stop already removed it). Opening, finding
// again across reloads and stopping are in listeners.cc.
#pragma once

#include "os/socket.h"
#include "os/unique_fd.h"

namespace tfpm::supervisor {

struct Listener {
  os::ListenAddress address;
  os::UniqueFd fd;
  bool from_systemd = false;
  // A graceful stop made it stop listening (StopListeningWhenDrained);
  // its unix socket file is already removed.
  bool stopped = false;
  ~Listener();
};

}  // namespace tfpm::supervisor
