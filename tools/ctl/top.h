// `pm-ctl top`: a live view of the pools, their busy threads and the
// slowest recent requests, refreshed every --interval seconds from the
// control socket's `status` with "detail": true (top_model.h), drawn with
// plain ANSI (home, clear to end of line) on a terminal (terminal.h).
// `q` or Ctrl-C ends it and restores the terminal. --once prints one frame
// (two samples --interval apart, so requests per second are real) without
// escape sequences; on a stdout that is not a terminal, frames follow each
// other without them too (as `top -b`).
#pragma once

#include <string>

namespace tfpm::ctl {

// argv[first..] are top's options (--once, --interval SECONDS, --pool NAME,
// --socket PATH); `socket` is the default control socket. Returns the exit
// code: 0, 1 (the daemon refused or answered what cannot be read), 2
// (usage), 3 (cannot connect).
int RunTop(int argc, char** argv, int first, std::string socket);

}  // namespace tfpm::ctl
