#include "os/directories.h"

#include <sys/stat.h>

#include <cerrno>

namespace tfpm::os {

Status MakeParentDirectories(const std::string& path, unsigned mode) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return Status::Ok();
  const std::string dir = path.substr(0, slash);
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return Status::InvalidArgument("mkdir(" + dir + "): not a directory");
  }
  if (Status st_parent = MakeParentDirectories(dir, mode); !st_parent.ok()) return st_parent;
  if (::mkdir(dir.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) {
    return ErrnoStatus("mkdir(" + dir + ")", errno);
  }
  return Status::Ok();
}

}  // namespace tfpm::os
