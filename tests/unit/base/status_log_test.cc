#include <doctest/doctest.h>

#include <cerrno>
#include <cstdio>
#include <unistd.h>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "base/status.h"

namespace tfpm {
namespace {

TEST_CASE("ErrnoStatus maps errno once and keeps the context") {
  Status nf = ErrnoStatus("open(/x)", ENOENT);
  CHECK(nf.code() == Status::Code::kNotFound);
  CHECK(nf.message() == "open(/x): No such file or directory");
  Status io = ErrnoStatus("bind(127.0.0.1:9000)", EADDRINUSE);
  CHECK(io.code() == Status::Code::kIoError);
  CHECK(io.message() == "bind(127.0.0.1:9000): Address already in use");
  CHECK(Status::Ok().ToString() == "ok");
}

TEST_CASE("Result holds a value or the status explaining its absence") {
  Result<int> good = 7;
  REQUIRE(good.ok());
  CHECK(*good == 7);
  Result<int> bad = Status::InvalidArgument("nope");
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().message() == "nope");
}

TEST_CASE("log levels use php-fpm's names") {
  for (auto [name, level] : {std::pair{"alert", log::Level::kAlert}, {"error", log::Level::kError},
                             {"warning", log::Level::kWarning}, {"notice", log::Level::kNotice},
                             {"debug", log::Level::kDebug}}) {
    log::Level parsed;
    REQUIRE(log::ParseLevel(name, &parsed));
    CHECK(parsed == level);
    CHECK(log::LevelName(level) == name);
  }
  log::Level unused;
  CHECK_FALSE(log::ParseLevel("info", &unused));
}

TEST_CASE("file log: php-fpm line format, level filter, reopen after rename") {
  char dir[] = "/tmp/tfpm-log-test-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/error.log";
  REQUIRE(log::Init(path, log::Level::kNotice, "pool www 12").ok());
  log::Notice("hello {}", 42);
  log::Debug("not shown");
  const std::string rotated = path + ".1";
  REQUIRE(std::rename(path.c_str(), rotated.c_str()) == 0);
  REQUIRE(log::Reopen().ok());
  log::Warning("after rotation");
  REQUIRE(log::Init("stderr", log::Level::kNotice).ok());  // leave the global logger usable

  std::ifstream old_file(rotated), new_file(path);
  std::string old_text((std::istreambuf_iterator<char>(old_file)), {});
  std::string new_text((std::istreambuf_iterator<char>(new_file)), {});
  CHECK(old_text.find("] NOTICE: [pool www 12] hello 42\n") != std::string::npos);
  CHECK(old_text.front() == '[');
  CHECK(old_text.find("not shown") == std::string::npos);
  CHECK(new_text.find("WARNING: [pool www 12] after rotation") != std::string::npos);
  std::remove(path.c_str());
  std::remove(rotated.c_str());
  ::rmdir(dir);
}

TEST_CASE("log_limit: messages cut as php-fpm's zlog, captured lines wrapped") {
  char dir[] = "/tmp/tfpm-log-test-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/error.log";
  REQUIRE(log::Init(path, log::Level::kNotice, "pool www 12").ok());
  // "[22-Nov-2026 22:00:00.123] NOTICE: [pool www 12] "
  const size_t prefix = log::PrefixLength(log::Level::kNotice);
  CHECK(prefix == 27 + 6 + 2 + 14);
  CHECK(log::PrefixLength(log::Level::kWarning) == prefix + 1);
  log::SetLineLimit(600);
  CHECK(log::LineLimit() == 600);
  const std::string fits(600 - 1 - prefix, 'a');  // line of 599 bytes: whole
  CHECK(log::FitMessage(log::Level::kNotice, fits) == fits);
  const std::string over(600 - prefix, 'b');      // would be 600: cut
  const std::string cut = log::FitMessage(log::Level::kNotice, over);
  CHECK(cut.size() == 600 - 1 - prefix);
  CHECK(cut.ends_with("bbb..."));
  log::Notice("{}", log::FitMessage(log::Level::kNotice, std::string(5000, 'c')));
  log::SetLineLimit(1024);
  REQUIRE(log::Init("stderr", log::Level::kNotice).ok());

  std::ifstream file(path);
  std::string line;
  REQUIRE(std::getline(file, line));
  CHECK(line.size() == 599);
  CHECK(line.ends_with("c..."));
  std::remove(path.c_str());
  ::rmdir(dir);

  CHECK(log::WrapPieces("abcdefg", 3) == std::vector<std::string_view>{"abc", "def", "g"});
  CHECK(log::WrapPieces("abc", 3) == std::vector<std::string_view>{"abc"});
  CHECK(log::WrapPieces("", 3) == std::vector<std::string_view>{""});
}

}  // namespace
}  // namespace tfpm
