// Loading tfpm's YAML configuration. The only place that includes yaml-cpp:
// the document is walked into a config::Node tree and validated by the
// tables in validate.cc. Nothing throws; every failure is a Status whose
// message is "<source>:<line>: <key.path>: <what is wrong>".
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "config/config.h"

namespace tfpm::config {

// Parses and validates `text`; `source_name` is the file name used in
// messages and stored in Config::source.
Result<Config> LoadConfigString(std::string_view text, std::string_view source_name);

// Reads `path` and calls LoadConfigString(contents, path). Read failures
// are "<path>: <strerror>" (NotFound for a missing file, else IoError).
Result<Config> LoadConfigFile(const std::string& path);

}  // namespace tfpm::config
