// Fuzz target: the config loader (config/load_yaml.h: yaml-cpp's parser
// events -> config::Node tree -> the validation tables of validate*.cc), as
// `tfpm --test`, reload and `pm-ctl config-test` run it on a file.
//
// Properties besides "no crash, leak, UB or stack overflow" (an exception
// escaping LoadConfigString is a crash: its contract is that nothing
// throws):
//  - an accepted config has at least one pool and its source name;
//  - every refusal names the file: "fuzz.yaml:<line>: ...".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/load_yaml.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = tfpm::config::LoadConfigString(text, "fuzz.yaml");
  if (config.ok()) {
    FUZZ_CHECK(!config->pools.empty());
    FUZZ_CHECK(config->source == "fuzz.yaml");
    return 0;
  }
  const std::string& message = config.status().message();
  FUZZ_CHECK(message.starts_with("fuzz.yaml:"));
  const size_t digits = message.find_first_not_of("0123456789", 10);
  FUZZ_CHECK(digits > 10 && digits != std::string::npos && message[digits] == ':');
  return 0;
}
