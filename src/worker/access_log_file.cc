#include "worker/access_log_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace tfpm::worker {
namespace {

int OpenAppend(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

}  // namespace

AccessLogFile::~AccessLogFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status AccessLogFile::Open(const std::string& path) {
  int fd = OpenAppend(path);
  if (fd < 0) return ErrnoStatus("access_log " + path, errno);
  path_ = path;
  fd_ = fd;
  return Status::Ok();
}

void AccessLogFile::Adopt(int fd) {
  if (fd_ >= 0) ::close(fd_);
  path_.clear();
  fd_ = fd;
}

Status AccessLogFile::Reopen() {
  if (fd_ < 0 || path_.empty()) return Status::Ok();
  int fd = OpenAppend(path_);
  if (fd < 0) return ErrnoStatus("access_log " + path_, errno);
  return Replace(fd);
}

Status AccessLogFile::Replace(int fd) {
  if (fd_ < 0) {
    ::close(fd);
    return Status::Ok();
  }
  int rc;
  do {
    rc = ::dup3(fd, fd_, O_CLOEXEC);
  } while (rc < 0 && errno == EINTR);
  const int saved = errno;
  ::close(fd);
  if (rc < 0) return ErrnoStatus("access_log: dup3", saved);
  return Status::Ok();
}

void AccessLogFile::Write(std::string_view line) {
  // One write(2): with O_APPEND the line is placed whole at the end of the
  // file. A short write (disk full) is not retried, as php-fpm does not.
  ssize_t n;
  do {
    n = ::write(fd_, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
}

}  // namespace tfpm::worker
