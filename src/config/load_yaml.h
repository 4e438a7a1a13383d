// Loading tfpm's YAML configuration. The only place that includes yaml-cpp:
// the document is walked into a config::Node tree and validated by the
// tables of validate*.cc. Nothing throws; every failure is a Status whose
// message is "<source>:<line>: <key.path>: <what is wrong>".
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "config/config.h"

namespace tfpm::config {

// Bounds on what a config file may be (docs/security.md): its size, and how
// deep sequences and mappings nest. YAML anchors and aliases are refused.
inline constexpr size_t kMaxConfigBytes = 1024 * 1024;
inline constexpr size_t kMaxConfigDepth = 32;

// Parses and validates `text`; `source_name` is the file name used in
// messages and stored in Config::source.
Result<Config> LoadConfigString(std::string_view text, std::string_view source_name);

// Reads `path` and calls LoadConfigString(contents, path). Read failures
// are "<path>: <strerror>" (NotFound for a missing file, else IoError); a
// path that is not a regular file, or larger than kMaxConfigBytes, is
// refused without being read (os::ReadRegularFile).
Result<Config> LoadConfigFile(const std::string& path);

// The config a worker of pool `pool` is handed (docs/security.md "Trust
// boundaries"): `text` with every other pool left out, so that a pool's
// worker, and the PHP code it runs, never holds another pool's settings
// (its `env` may carry secrets). Everything else stays as written: the
// daemon and php sections, ${VAR} unexpanded (the worker expands it as
// before), scalars plain or quoted as they were; each kept key stays on its
// line (block style), so messages still name the operator's lines.
// `text` must be a config LoadConfigString() accepted; NotFound if it has
// no pool `pool`.
Result<std::string> PoolConfigText(std::string_view text, std::string_view source_name, std::string_view pool);

}  // namespace tfpm::config
