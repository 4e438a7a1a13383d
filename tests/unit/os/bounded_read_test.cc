#include "os/bounded_read.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/temp_dir.h"

namespace tfpm::os {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

TEST_CASE("ReadBounded: a regular file up to the limit is read whole, one byte more is refused") {
  TempDir t;
  const std::string path = (t.dir / "a.ini").string();
  std::ofstream(path) << std::string(100, 'x');
  BoundedRead r = ReadBounded(path, 100);
  CHECK(r.result == BoundedRead::Result::kOk);
  CHECK(r.data == std::string(100, 'x'));
  r = ReadBounded(path, 99);
  CHECK(r.result == BoundedRead::Result::kTooLarge);
  CHECK(r.data.empty());
  std::ofstream(t.dir / "empty.ini").flush();
  r = ReadBounded((t.dir / "empty.ini").string(), 10);
  CHECK(r.result == BoundedRead::Result::kOk);
  CHECK(r.data.empty());
}

TEST_CASE("ReadBounded: a file that claims size 0 is read only up to the limit") {
  // procfs: st_size 0, content generated on read.
  BoundedRead r = ReadBounded("/proc/self/maps", 16);
  CHECK(r.result == BoundedRead::Result::kTooLarge);
  r = ReadBounded("/proc/self/maps", 16 << 20);
  CHECK(r.result == BoundedRead::Result::kOk);
  CHECK(r.data.find('\n') != std::string::npos);
}

TEST_CASE("ReadBounded: FIFOs and directories are not read, and a FIFO without a writer does not block") {
  TempDir t;
  const std::string fifo = (t.dir / "f.ini").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  ::alarm(30);  // a blocking open would kill the run instead of hanging it
  CHECK(ReadBounded(fifo, 100).result == BoundedRead::Result::kNotRegular);
  ::alarm(0);
  CHECK(ReadBounded(t.dir.string(), 100).result == BoundedRead::Result::kNotRegular);
}

TEST_CASE("ReadBounded: errors carry errno") {
  TempDir t;
  BoundedRead r = ReadBounded((t.dir / "absent").string(), 100);
  CHECK(r.result == BoundedRead::Result::kError);
  CHECK(r.error == ENOENT);
  fs::create_symlink(t.dir / "loop", t.dir / "loop");
  r = ReadBounded((t.dir / "loop").string(), 100);
  CHECK(r.result == BoundedRead::Result::kError);
  CHECK(r.error == ELOOP);
  r = ReadBounded("/proc/self/mem", 100);  // opens, read() fails
  CHECK(r.result == BoundedRead::Result::kError);
  CHECK(r.error == EIO);
}

}  // namespace
}  // namespace tfpm::os
