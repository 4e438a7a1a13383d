// The resident memory (RSS) of this process, for process_memory_limit.
//
// The descriptor of /proc/self/statm is opened once, before the worker
// confines itself (a chroot has no /proc; after the user switch the process
// may no longer be dumpable), and read again with pread() each time.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "os/unique_fd.h"

namespace tfpm::os {

class ResidentMemory {
 public:
  // Opens /proc/self/statm; an error names it.
  static Result<ResidentMemory> Open();

  // Resident bytes now (statm's second field x the page size).
  Result<uint64_t> Read() const;

 private:
  explicit ResidentMemory(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// The resident bytes of another process now, from /proc/<pid>/statm (the
// supervisor's view of its workers for `pm-ctl top`); an error names the
// file (the process may have exited).
Result<uint64_t> ResidentBytesOf(int pid);

// The resident bytes in the text of a statm file ("size resident shared
// ..." in pages); nullopt-like error for anything else. Pure, for tests.
Result<uint64_t> ParseStatmResident(const char* text, size_t len, uint64_t page_size);

}  // namespace tfpm::os
