// SharedMemory: an anonymous memfd mapped MAP_SHARED. The supervisor creates
// one per worker process and passes the fd to the child, which maps the same
// pages. A worker can only scribble on its own segment.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <functional>
#include <string>

#include "base/status.h"
#include "os/unique_fd.h"

namespace tfpm::os {

class SharedMemory {
 public:
  // New zero-filled segment of `size` bytes.
  static Result<SharedMemory> Create(const char* name, size_t size);
  // Maps an inherited segment; its size is taken from fstat.
  static Result<SharedMemory> Adopt(UniqueFd fd);

  SharedMemory(SharedMemory&& other) noexcept;
  SharedMemory& operator=(SharedMemory&& other) noexcept;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory();

  void* data() const { return data_; }
  size_t size() const { return size_; }
  int fd() const { return fd_.get(); }

 private:
  SharedMemory(UniqueFd fd, void* data, size_t size) : fd_(std::move(fd)), data_(data), size_(size) {}
  UniqueFd fd_;
  void* data_ = nullptr;
  size_t size_ = 0;
};

// A sealed, read-only memfd holding `contents` (used to hand a worker the
// exact config bytes the supervisor validated).
Result<UniqueFd> MemfdWithContents(const char* name, std::string_view contents);

// Reads a whole file or descriptor.
Result<std::string> ReadFile(const std::string& path);
Result<std::string> ReadFd(int fd);

// Reads `path` only if it is a regular file (after symlinks) of at most
// `max_bytes`: a FIFO, a device (/dev/zero), a socket or a directory is
// refused without being read, and opening never blocks (O_NONBLOCK) nor
// creates anything. Errors: "<path>: <why>".
Result<std::string> ReadRegularFile(const std::string& path, size_t max_bytes);
// The same, and `accept` decides on the file's fstat() (of the descriptor
// that is then read, so the file cannot be swapped after the check): an
// error it returns is returned, nothing read.
using FileCheck = std::function<Status(const struct stat&)>;
Result<std::string> ReadRegularFile(const std::string& path, size_t max_bytes, const FileCheck& accept);

}  // namespace tfpm::os
