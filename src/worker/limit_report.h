// What a worker does when a client trips one of its connection limits
// (docs/security.md "Limits"): count it in the process's scoreboard header
// (the status page shows the pool's sums) and log one line, at most one
// per second and limit, however often a client trips it.
//
// Thread-safe: called from PHP threads and the main thread alike.
#pragma once

#include <string_view>

#include "scoreboard/scoreboard.h"

namespace tfpm::worker {

// `board` may be null (counted nowhere). `what` completes the sentence
// "connection closed: ..." and names the limit's key.
void TripLimit(scoreboard::Header* board, scoreboard::Limit limit, std::string_view what);

// Per-record warnings a client can cause at will (a malformed record, an
// unknown role): logged at most once per second in all, with the number
// of warnings left out since the last line.
void WarnRateLimited(std::string_view what);

}  // namespace tfpm::worker
