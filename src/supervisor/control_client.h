// One pm-ctl connection on the control socket, without the Supervisor: who
// may connect, reading its one request line with a bound, and sending the
// reply without ever blocking. The control server (control_server.cc)
// drives these from the event loop; nothing here waits.
//
// Not thread-safe: used by the supervisor's loop thread only.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <string>

#include "os/clock.h"
#include "os/unique_fd.h"
#include "supervisor/caller_file.h"

namespace tfpm::supervisor {

// A pm-ctl connection: reading its one request line, or (replying) sending
// the reply it has not read yet. Dropped at `deadline`.
struct ControlClient {
  os::UniqueFd fd;
  Caller caller;  // SO_PEERCRED at accept
  std::string in;
  bool replying = false;
  std::string out;
  size_t sent = 0;
  os::TimePoint deadline;
};

// Who may use the control socket: root, the daemon's own user, the
// control_socket_owner's uid (`control_uid`), and members of
// control_socket_group (`control_gid`; (gid_t)-1 = none set).
bool MayControl(const Caller& caller, uid_t daemon_uid, uid_t control_uid, gid_t control_gid);

// Where the reading of a request stands.
enum class RequestLine {
  kIncomplete,  // no newline yet, the client may send more: wait
  kComplete,    // `in` holds a newline: the request is what precedes it
  kTooLong,     // max_line bytes and no newline: refuse
  kUnfinished,  // the client closed (or failed) before a newline: refuse
};

// Reads what the (non-blocking) client has sent into c.in, never more than
// `max_line` bytes in all, and says where the request stands.
RequestLine ReadRequestLine(ControlClient& c, size_t max_line);
// The decision alone: `in` read so far, `closed` whether the client can send
// no more.
RequestLine ClassifyRequestLine(const std::string& in, bool closed, size_t max_line);

// Sends what it can of c.out without waiting; true once all is sent (or the
// client is gone), false when the socket is full (send the rest later).
bool SendPending(ControlClient& c);

// The client that has waited longest (earliest deadline): the one dropped to
// make room for a new one. `clients` must not be empty.
std::map<int, ControlClient>::iterator LongestWaiting(std::map<int, ControlClient>& clients);

}  // namespace tfpm::supervisor
