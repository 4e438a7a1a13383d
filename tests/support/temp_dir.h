// A fresh directory under /tmp for one test, removed with everything in it
// when the test ends. Tests that need real files (os wrappers, config
// checks) use it instead of fakes.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace tfpm::testing {

struct TempDir {
  std::filesystem::path dir;
  TempDir() {
    std::string tmpl = "/tmp/tfpm-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace tfpm::testing
