// Table-driven validation: turns a YAML-free document tree into a Config.
//
// load_yaml.cc walks yaml-cpp's nodes into a config::Node tree and hands it
// here; this layer knows every key, its kind and its constraints as rows of
// per-section tables (validate_daemon.cc, validate_pool_fields.cc; the
// machinery in fields.h), so adding a key is one table row. Every
// error is "<source>:<line>: <key.path>: <what is wrong>", the first one in
// file order.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "config/config.h"

namespace tfpm::config {

// One node of a parsed document, without YAML types.
struct Node {
  enum class Type { kNull, kScalar, kSequence, kMapping };
  Type type = Type::kNull;
  int line = 1;       // 1-based line of the node
  std::string text;   // kScalar: the scalar's text (quotes and escapes resolved)
  bool plain = false; // kScalar: unquoted and untagged, so may be a bool/int
  std::string key;    // member of a kMapping: its key
  int key_line = 1;   // member of a kMapping: 1-based line of its key
  std::vector<Node> children;  // kSequence items / kMapping members, file order
};

// Validates `root` (the document; kNull = empty document) and builds the
// Config. `source_name` prefixes every message and becomes Config::source.
Result<Config> BuildConfig(const Node& root, std::string_view source_name);

// The one shape of every config error: "<source>:<line>: <path>: <what>"
// (without "<path>: " when path is empty).
Status ConfigError(std::string_view source, int line, std::string_view path, std::string_view what);

// "8388608", "64K", "8M", "1G" (K/M/G = 1024-based, either case) -> bytes.
std::optional<uint64_t> ParseSize(std::string_view text);

// "500ms", "30s", "2m", "1h"; a plain integer is seconds (as in php-fpm).
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// php-fpm's ${VAR} in config values: each "${NAME}" in `text` becomes
// lookup(NAME); "${NAME:-default}" gives `default` when NAME is unset
// (PHP >= 8.3's INI syntax); "$${" is a literal "${". Returns nullopt and
// sets *missing to the name when a variable without a default is unset
// (or *missing to "" when a "${" is not closed).
std::optional<std::string> ExpandEnvironment(std::string_view text,
                                             const char* (*lookup)(const char* name),
                                             std::string* missing);

// `message` ("<source>:<line>: ...") with every value of `used` (the
// environment variables a config expanded, as name/value) after the
// "<source>:<line>: " prefix written as "${NAME}" instead: errors about a
// config never reveal the daemon's environment.
std::string HideEnvironment(std::string message, std::string_view source,
                            const std::vector<std::pair<std::string, std::string>>& used);

// php-fpm's $pool: every "$pool" in `text` becomes `pool`.
std::string ExpandPoolName(std::string_view text, std::string_view pool);

}  // namespace tfpm::config
