#include "config/extension_policy.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace tfpm::config {
namespace {

TEST_CASE("thread-unsafe extensions are refused with more than one thread per process") {
  const std::vector<std::string> loaded = {"Core", "date", "IMAP", "standard"};
  Status st = CheckExtensionsForThreads(loaded, 4, "pool www");
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("pool www: extension IMAP is not thread-safe") == 0);
  CHECK(st.message().find("threads: 1") != std::string::npos);
}

TEST_CASE("thread-unsafe extensions run with one thread per process") {
  const std::vector<std::string> loaded = {"Core", "imap", "newrelic", "pcov"};
  CHECK(CheckExtensionsForThreads(loaded, 1, "pool www").ok());
}

TEST_CASE("safe extensions pass with any thread count") {
  const std::vector<std::string> loaded = {"Core", "redis", "apcu", "imagick", "pgsql"};
  CHECK(CheckExtensionsForThreads(loaded, 64, "pool www").ok());
}

TEST_CASE("every listed extension names its source") {
  CHECK(ThreadUnsafeExtensions().size() >= 3);
  for (const auto& u : ThreadUnsafeExtensions()) {
    const std::vector<std::string> loaded = {std::string(u.name)};
    CHECK_FALSE(CheckExtensionsForThreads(loaded, 2, "p").ok());
    CHECK(u.reason.find('(') != std::string_view::npos);  // a reference in parentheses
  }
}

}  // namespace
}  // namespace tfpm::config
