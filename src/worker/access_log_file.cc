#include "worker/access_log_file.h"

#include "os/fd_io.h"

namespace tfpm::worker {
namespace {

Result<os::UniqueFd> OpenAppend(const std::string& path) {
  auto fd = os::OpenForAppend(path, 0600);
  if (!fd.ok()) return Status::IoError("access_log " + fd.status().message());
  return fd;
}

// A failed close has nothing to undo: the number is free either way.
void Close(int fd) { (void)os::CloseFd(fd); }

}  // namespace

AccessLogFile::~AccessLogFile() {
  if (fd_ >= 0) Close(fd_);
}

Status AccessLogFile::Open(const std::string& path) {
  auto fd = OpenAppend(path);
  if (!fd.ok()) return fd.status();
  path_ = path;
  fd_ = fd->Release();
  return Status::Ok();
}

void AccessLogFile::Adopt(int fd) {
  if (fd_ >= 0) Close(fd_);
  path_.clear();
  fd_ = fd;
}

Status AccessLogFile::Reopen() {
  if (fd_ < 0 || path_.empty()) return Status::Ok();
  auto fd = OpenAppend(path_);
  if (!fd.ok()) return fd.status();
  return Replace(fd->Release());
}

Status AccessLogFile::Replace(int fd) {
  os::UniqueFd reopened(fd);
  if (fd_ < 0) return Status::Ok();
  if (Status st = os::DuplicateOnto(reopened.get(), fd_); !st.ok()) return Status::IoError("access_log: " + st.message());
  return Status::Ok();
}

void AccessLogFile::Write(std::string_view line) {
  // One write(2): with O_APPEND the line is placed whole at the end of the
  // file. A short write (disk full) is not retried, as php-fpm does not.
  // A failed write has nowhere to be reported but the error log, which a
  // full disk would refuse too.
  (void)os::WriteSome(fd_, line);
}

}  // namespace tfpm::worker
