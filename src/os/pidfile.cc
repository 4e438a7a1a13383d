#include "os/pidfile.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <string>

namespace tfpm::os {

Result<PidFile> PidFile::Create(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("pid_file " + path, errno);
  UniqueFd owned(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    return Status::IoError("pid_file " + path + ": another tfpm holds it");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return ErrnoStatus("pid_file " + path, errno);
  }
  return PidFile(path, std::move(owned));
}

PidFile::~PidFile() {
  if (fd_.valid() && !path_.empty()) ::unlink(path_.c_str());
}

}  // namespace tfpm::os
