// catch_workers_output: reading what a worker writes to its stdout/stderr
// pipe and cutting it into log lines (OutputLines), with a bound on the
// bytes read per call so a worker that writes without pause cannot keep
// the supervisor's loop from its other events. The Supervisor's side
// (which pipe, the log prefix, the counters) is in worker_output.cc.
//
// Not thread-safe: one caller per pipe.
#pragma once

#include <cstddef>

#include "supervisor/output_lines.h"

namespace tfpm::supervisor {

struct OutputRead {
  size_t wrapped = 0;  // lines longer than `room`, emitted in pieces
  bool eof = false;    // every writer closed the pipe: nothing more will come
};

// Reads the non-blocking pipe `fd` until it is empty, closed, or `budget`
// bytes were read (one read may pass it by less than 8 KiB), and feeds each
// piece to `lines` (OutputLines::Feed with `room`), which emits the complete
// lines to `emit`. An unfinished line stays in `lines`.
OutputRead ReadWorkerOutput(int fd, size_t budget, size_t room, OutputLines& lines, const OutputLines::Sink& emit);

// The room for a line's bytes in a log line of at most `limit` bytes of
// which `reserved` go to the prefix and decoration (and one to the newline);
// at least 1.
size_t OutputRoom(size_t limit, size_t reserved);

}  // namespace tfpm::supervisor
