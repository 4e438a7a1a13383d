#include "os/process_memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>

namespace tfpm::os {

Result<ResidentMemory> ResidentMemory::Open() {
  UniqueFd fd(::open("/proc/self/statm", O_RDONLY | O_CLOEXEC));
  if (!fd) return Status::IoError(std::string("open(/proc/self/statm): ") + std::strerror(errno));
  return ResidentMemory(std::move(fd));
}

Result<uint64_t> ResidentMemory::Read() const {
  char buf[256];
  ssize_t n;
  do n = ::pread(fd_.get(), buf, sizeof(buf), 0); while (n < 0 && errno == EINTR);
  if (n < 0) return Status::IoError(std::string("read(/proc/self/statm): ") + std::strerror(errno));
  const long page = ::sysconf(_SC_PAGESIZE);
  return ParseStatmResident(buf, static_cast<size_t>(n), page > 0 ? static_cast<uint64_t>(page) : 4096);
}

Result<uint64_t> ResidentBytesOf(int pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/statm";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Status::IoError("open(" + path + "): " + std::strerror(errno));
  char buf[256];
  ssize_t n;
  do n = ::pread(fd.get(), buf, sizeof(buf), 0); while (n < 0 && errno == EINTR);
  if (n < 0) return Status::IoError("read(" + path + "): " + std::strerror(errno));
  const long page = ::sysconf(_SC_PAGESIZE);
  return ParseStatmResident(buf, static_cast<size_t>(n), page > 0 ? static_cast<uint64_t>(page) : 4096);
}

Result<uint64_t> ParseStatmResident(const char* text, size_t len, uint64_t page_size) {
  const char* p = text;
  const char* end = text + len;
  uint64_t size = 0, resident = 0;
  auto r = std::from_chars(p, end, size);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != ' ') return Status::InvalidArgument("statm: malformed");
  r = std::from_chars(r.ptr + 1, end, resident);
  if (r.ec != std::errc()) return Status::InvalidArgument("statm: malformed");
  if (resident > UINT64_MAX / page_size) return Status::InvalidArgument("statm: out of range");
  return resident * page_size;
}

}  // namespace tfpm::os
