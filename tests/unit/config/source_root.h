// The source tree's root, for config tests that read files committed in it
// (conf/tfpm.yaml). tests/unit/config/meson.build defines TFPM_SOURCE_ROOT.
#pragma once

#include <string>

namespace tfpm::config::testing {

inline std::string SourceRoot() {
#ifdef TFPM_SOURCE_ROOT
  return TFPM_SOURCE_ROOT;
#else
  // Fallback: this file is <root>/tests/unit/config/source_root.h
  // (__FILE__ may be relative to the compiler's working directory).
  std::string file = __FILE__;
  std::string root = file.substr(0, file.rfind("tests/unit/config/"));
  return root.empty() ? "." : root.substr(0, root.size() - 1);
#endif
}

}  // namespace tfpm::config::testing
