// The worker side of the status page query (ipc/worker_process.h
// kTagStatus): the pool's status as JSON, from the supervisor.
#pragma once

#include <string>

namespace tfpm::worker {

// The pool's status page data, from the supervisor, which reads the
// scoreboards of all the pool's processes (we map only our own). One end of
// a fresh socketpair goes to it over our notify socket, tagged 's' ('S' with
// a row per thread); the JSON comes back in a memfd over the pair. "" if
// there is no supervisor or it does not answer within 2 s.
// Any thread (a PHP thread serving the status page).
std::string QueryPoolStatus(int notify_fd, bool full);

}  // namespace tfpm::worker
