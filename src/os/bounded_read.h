// Reading a small file someone else controls (a php.ini, an .ini of a scan
// directory) without being made to hang or to swallow gigabytes.
#pragma once

#include <cstdint>
#include <string>

namespace tfpm::os {

struct BoundedRead {
  enum class Result {
    kOk,          // `data` holds the whole file
    kNotRegular,  // a directory, FIFO, socket or device: not read
    kTooLarge,    // more than max_bytes: not read (st_size, or what read() gave)
    kError,       // open() or read() failed: `error` is the errno (ELOOP, EACCES, EIO...)
  };
  Result result = Result::kError;
  int error = 0;
  std::string data;
};

// Opens `path` with O_NONBLOCK (a FIFO does not block the open), checks the
// OPEN file is a regular file (no stat-then-open race), and reads at most
// max_bytes + 1 bytes: a file that grows, or claims size 0 and never ends
// (procfs, FUSE), stops there.
BoundedRead ReadBounded(const std::string& path, uint64_t max_bytes);

}  // namespace tfpm::os
