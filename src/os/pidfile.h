// PidFile: writes our pid to a file held under an exclusive flock for the
// daemon's lifetime, so a second daemon with the same pid_file refuses to
// start. Removed on destruction.
#pragma once

#include <string>

#include "base/status.h"
#include "os/unique_fd.h"

namespace tfpm::os {

class PidFile {
 public:
  static Result<PidFile> Create(const std::string& path);
  PidFile(PidFile&&) = default;
  PidFile& operator=(PidFile&&) = default;
  ~PidFile();

 private:
  PidFile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}
  std::string path_;
  UniqueFd fd_;
};

}  // namespace tfpm::os
