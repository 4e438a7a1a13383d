#include "os/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>

namespace tfpm::os {

Result<SharedMemory> SharedMemory::Create(const char* name, size_t size) {
  int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return ErrnoStatus("memfd_create", errno);
  UniqueFd owned(fd);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return ErrnoStatus("ftruncate", errno);
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return ErrnoStatus("mmap", errno);
  return SharedMemory(std::move(owned), p, size);
}

Result<SharedMemory> SharedMemory::Adopt(UniqueFd fd) {
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("fstat", errno);
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) return Status::InvalidArgument("shared memory segment is empty");
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return ErrnoStatus("mmap", errno);
  return SharedMemory(std::move(fd), p, size);
}

SharedMemory::SharedMemory(SharedMemory&& other) noexcept
    : fd_(std::move(other.fd_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

SharedMemory& SharedMemory::operator=(SharedMemory&& other) noexcept {
  if (this != &other) {
    if (data_) ::munmap(data_, size_);
    fd_ = std::move(other.fd_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SharedMemory::~SharedMemory() {
  if (data_) ::munmap(data_, size_);
}

Result<UniqueFd> MemfdWithContents(const char* name, std::string_view contents) {
  int fd = ::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return ErrnoStatus("memfd_create", errno);
  UniqueFd owned(fd);
  size_t off = 0;
  while (off < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + off, contents.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write(memfd)", errno);
    }
    off += static_cast<size_t>(n);
  }
  ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  ::lseek(fd, 0, SEEK_SET);
  return owned;
}

Result<std::string> ReadFd(int fd) {
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof(buf), static_cast<off_t>(out.size()));
    if (n < 0 && errno == ESPIPE) n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(path, errno);
  UniqueFd owned(fd);
  auto r = ReadFd(fd);
  if (!r.ok()) return ErrnoStatus(path, errno);
  return r;
}

Result<std::string> ReadRegularFile(const std::string& path, size_t max_bytes) {
  return ReadRegularFile(path, max_bytes, nullptr);
}

Result<std::string> ReadRegularFile(const std::string& path, size_t max_bytes, const FileCheck& accept) {
  // stat() first: opening a device can have effects of its own.
  struct stat before;
  if (::stat(path.c_str(), &before) != 0) return ErrnoStatus(path, errno);
  if (S_ISDIR(before.st_mode)) return ErrnoStatus(path, EISDIR);
  if (!S_ISREG(before.st_mode)) return Status::InvalidArgument(path + ": not a regular file");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return ErrnoStatus(path, errno);
  UniqueFd owned(fd);
  // The same file as the one checked (not swapped in between).
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(path, errno);
  if (!S_ISREG(st.st_mode) || st.st_dev != before.st_dev || st.st_ino != before.st_ino) {
    return Status::InvalidArgument(path + ": not a regular file");
  }
  const std::string too_big = path + ": larger than " + std::to_string(max_bytes) + " bytes";
  if (static_cast<uint64_t>(st.st_size) > max_bytes) return Status::InvalidArgument(too_big);
  if (accept) {
    if (Status ok = accept(st); !ok.ok()) return ok;
  }
  std::string out;
  char buf[16384];
  // A file that grows while read (or a /proc file whose size says 0) is
  // still cut at max_bytes + 1.
  while (out.size() <= max_bytes) {
    const size_t want = std::min(sizeof(buf), max_bytes + 1 - out.size());
    ssize_t n = ::read(fd, buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  if (out.size() > max_bytes) return Status::InvalidArgument(too_big);
  return out;
}

}  // namespace tfpm::os
