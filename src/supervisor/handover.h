// Kept connections handed over between workers: a draining worker sends a
// kept connection with no request on it back to the supervisor, which passes
// it to a worker that will serve it. This is the choice of candidates; the
// Supervisor (handover.cc) sends it to the first that takes it, round robin.
#pragma once

#include <vector>

#include "supervisor/worker_table.h"

namespace tfpm::supervisor {

// The workers that may take over a connection from `from`: ready, serving
// the same listening socket, not `from` itself, and of the newest
// generation that has such a worker (during a reload the newest ready one
// is still the previous generation). In table (pid) order; empty if none.
std::vector<const Worker*> HandoverTargets(const WorkerTable& table, const Worker& from);

}  // namespace tfpm::supervisor
