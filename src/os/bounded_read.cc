#include "os/bounded_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "os/unique_fd.h"

namespace tfpm::os {

BoundedRead ReadBounded(const std::string& path, uint64_t max_bytes) {
  BoundedRead out;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    out.error = errno;
    return out;
  }
  struct stat sb{};
  if (::fstat(fd.get(), &sb) != 0) {
    out.error = errno;
    return out;
  }
  if (!S_ISREG(sb.st_mode)) {
    out.result = BoundedRead::Result::kNotRegular;
    return out;
  }
  if (static_cast<uint64_t>(sb.st_size) > max_bytes) {
    out.result = BoundedRead::Result::kTooLarge;
    return out;
  }
  const uint64_t first = sb.st_size > 0 ? static_cast<uint64_t>(sb.st_size) : std::min<uint64_t>(max_bytes + 1, 4096);
  out.data.resize(static_cast<size_t>(first));
  size_t have = 0;
  for (;;) {
    if (have == out.data.size()) {
      if (have > max_bytes) break;
      out.data.resize(std::min<uint64_t>(max_bytes + 1, static_cast<uint64_t>(have) * 2));
    }
    const ssize_t n = ::read(fd.get(), out.data.data() + have, out.data.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.error = errno;
      out.data.clear();
      return out;
    }
    if (n == 0) break;
    have += static_cast<size_t>(n);
  }
  if (have > max_bytes) {
    out.data.clear();
    out.result = BoundedRead::Result::kTooLarge;
    return out;
  }
  out.data.resize(have);
  out.result = BoundedRead::Result::kOk;
  return out;
}

}  // namespace tfpm::os
