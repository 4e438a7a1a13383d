// php-fpm's configuration file (php-fpm.conf and the pool files it
// includes), read the way php-fpm reads it: line by line, `[global]` and
// pool sections, `include=` globs, PHP's INI value syntax (quotes, escapes,
// `${ENV}`, booleans, constants and bit operators), `name[key]` arrays.
//
// This layer only reads: it knows no directive. fpm_map.h decides what each
// entry means for tfpm. Errors name the place as php-fpm does:
// "[/etc/php/8.2/fpm/pool.d/www.conf:12] <what>".
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "os/shared_memory.h"

namespace tfpm::config::fpm {

struct Location {
  std::string file;
  int line = 0;  // 1-based
};

// "[file:line]" as php-fpm prints it.
std::string Where(const Location& at);

// One `name = value` or `name[key] = value` line.
struct Entry {
  std::string name;   // "pm.max_children", "php_admin_value"
  bool array = false; // written as name[key]
  std::string key;    // array only ("memory_limit"; "" for `access.suppress_path[]`)
  std::string value;  // after PHP's INI value rules (quotes, ${ENV}, booleans -> "1"/"")
  Location at;
};

// `[name]`: a pool. A name seen again (case-insensitive, as php-fpm) adds
// to the pool first opened with it.
struct Pool {
  std::string name;
  Location at;  // where it was first opened
  std::vector<Entry> entries;
};

// The `;` comment lines right above a section or an entry (no blank line
// between), without the ';': what `pm-ctl import-fpm` carries over.
struct CommentBlock {
  Location at;  // the section or entry line they stand above
  std::vector<std::string> lines;
};

struct Document {
  std::string main_file;
  Location global_at;          // the first `[global]` line (line 0: none)
  std::vector<CommentBlock> comments;
  std::vector<Entry> global;   // [global] and anything before the first section
  std::vector<Pool> pools;     // in the order first opened
  std::vector<std::string> files;     // every file read, main file first
  std::vector<std::string> warnings;  // "[file:line] ..." lines that are not fatal
};

// How the parser reaches files (a fake in tests).
class Files {
 public:
  virtual ~Files() = default;
  virtual Result<std::string> Read(const std::string& path) = 0;
  // The matches of a glob(3) pattern, sorted; directories end with '/'.
  // An empty vector means nothing matched.
  virtual Result<std::vector<std::string>> Glob(const std::string& pattern) = 0;
};

// The real file system (glob(3), read(2)).
Files& SystemFiles();

// The real file system for a file named by someone else (pm-ctl
// config-test): every file, the included ones too, is read only if it is a
// regular file of at most `max_bytes` and `accept` allows its path and
// fstat() (of the descriptor then read; os::ReadRegularFile).
using FileRule = std::function<Status(const std::string& path, const struct stat& st)>;
class CheckedFiles final : public Files {
 public:
  CheckedFiles(size_t max_bytes, FileRule accept) : max_bytes_(max_bytes), accept_(std::move(accept)) {}
  Result<std::string> Read(const std::string& path) override;
  Result<std::vector<std::string>> Glob(const std::string& pattern) override;

 private:
  size_t max_bytes_;
  FileRule accept_;
};

struct ParseOptions {
  // php-fpm's prefix (`-p`): a relative `include` is taken from here.
  // "" = php-fpm's compiled-in prefix, which is Debian's "/usr".
  std::string prefix;
  // Environment for ${VAR}; nullptr = std::getenv.
  const char* (*getenv)(const char* name) = nullptr;
};

// Reads `path` and everything it includes. The first error ends parsing,
// as in php-fpm.
Result<Document> Parse(const std::string& path, Files& files, const ParseOptions& options);

// One INI value after '=' (without the line's end): the exact rules of
// PHP's scanner in normal mode that php-fpm relies on. `*error` gets the
// complaint on failure (and nullopt is returned).
// Exposed for tests and for `-d name=value`.
struct ValueResult {
  bool ok = false;
  std::string value;
  std::string error;
  std::vector<std::string> unset_variables;  // ${VAR}s that were not set (empty string used)
};
ValueResult ParseValue(std::string_view text, const char* (*getenv)(const char* name));

}  // namespace tfpm::config::fpm
