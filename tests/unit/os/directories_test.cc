#include "os/directories.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/temp_dir.h"

namespace tfpm::os {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

TEST_CASE("MakeParentDirectories creates every missing parent, not the last component") {
  TempDir t;
  const std::string path = (t.dir / "a/b/c/tfpm.pid").string();
  REQUIRE(MakeParentDirectories(path, 0755).ok());
  CHECK(fs::is_directory(t.dir / "a/b/c"));
  CHECK_FALSE(fs::exists(path));
  struct stat st;
  REQUIRE(::stat((t.dir / "a/b").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777 & ~0755) == 0);
  // Again: everything exists, nothing to do.
  CHECK(MakeParentDirectories(path, 0755).ok());
}

TEST_CASE("MakeParentDirectories: a bare name or a file under / needs nothing") {
  CHECK(MakeParentDirectories("tfpm.sock", 0755).ok());
  CHECK(MakeParentDirectories("/tfpm.sock", 0755).ok());
}

TEST_CASE("MakeParentDirectories: a file in the way is an error naming it") {
  TempDir t;
  std::ofstream(t.dir / "file") << "x";
  const Status st = MakeParentDirectories((t.dir / "file/sub/tfpm.sock").string(), 0755);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find((t.dir / "file").string()) != std::string::npos);
}

}  // namespace
}  // namespace tfpm::os
