#include "os/file_info.h"

#include <sys/stat.h>

#include <cerrno>

namespace tfpm::os {

Result<FileType> TypeOf(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(path, errno);  // ENOENT: NotFound
  if (S_ISREG(st.st_mode)) return FileType::kRegular;
  if (S_ISDIR(st.st_mode)) return FileType::kDirectory;
  return FileType::kOther;
}

bool IsDirectory(const std::string& path) {
  auto t = TypeOf(path);
  return t.ok() && *t == FileType::kDirectory;
}

bool IsRegularFile(const std::string& path) {
  auto t = TypeOf(path);
  return t.ok() && *t == FileType::kRegular;
}

}  // namespace tfpm::os
