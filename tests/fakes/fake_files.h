// fpm::Files over an in-memory map: path -> contents. Glob matches with
// fnmatch(3) (FNM_PATHNAME), sorted, as glob(3) does.
#pragma once

#include <fnmatch.h>

#include <map>
#include <string>
#include <vector>

#include "config/fpm_ini.h"

namespace tfpm::testing {

class FakeFiles final : public config::fpm::Files {
 public:
  std::map<std::string, std::string> files;

  Result<std::string> Read(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end()) return Status::NotFound(path + ": No such file or directory");
    return it->second;
  }
  Result<std::vector<std::string>> Glob(const std::string& pattern) override {
    std::vector<std::string> out;
    for (const auto& [path, _] : files) {
      if (::fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0) out.push_back(path);
    }
    return out;
  }
};

}  // namespace tfpm::testing
