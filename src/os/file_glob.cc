#include "os/file_glob.h"

#include <glob.h>

namespace tfpm::os {

Result<std::vector<std::string>> Glob(const std::string& pattern) {
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), GLOB_ERR | GLOB_MARK, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  ::globfree(&g);
  if (rc == GLOB_NOMATCH || rc == 0) return out;
  return Status::IoError(rc == GLOB_NOSPACE ? "out of memory" : "read error while matching");
}

}  // namespace tfpm::os
