// php.ini and the scan directories read the way php_init_config() reads
// them, with one difference: `extension=` and `zend_extension=` lines are
// handed back instead of queued for loading (RuntimeOptions::
// extensions_by_name). PHP's own reader queues every such line for
// dlopen(); a php.ini written for another PHP (Debian's 8.2 conf.d naming
// /usr/lib/php/20220829/mysqli.so) would then try a foreign file and warn
// in every process. The caller decides what each line means for this PHP.
//
// Every byte read is hostile: each file is opened without following it
// into a FIFO or device (O_NONBLOCK, then fstat of the open file), read
// whole up to IniReadLimits::max_file_bytes, and parsed from memory; at most
// IniReadLimits::max_files scanned files are read. Whatever is skipped is
// named in IniFilesRead::problems, one line each.
//
// Called from sapi_module.ini_defaults, i.e. inside php_init_config(),
// while the process has a single thread; PHP itself is then told to read no
// file (php_ini_ignore).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <main/php.h>

#include "sapi/php_ini_deprecations.h"

namespace tfpm::sapi {

struct RequestedExtension {
  std::string value;  // as written: "mysqli", "mysqli.so", "/usr/lib/php/20220829/mysqli.so"
  bool zend = false;  // zend_extension=
  std::string file;
  int line = 0;
};

// The limits (config keys php.ini_max_file_size, php.ini_max_files).
struct IniReadLimits {
  uint64_t max_file_bytes = 4u << 20;  // Debian 12's php.ini: 73 KB
  size_t max_files = 1000;             // scanned *.ini files, all directories together
};

struct IniFilesRead {
  std::string opened;                 // php.ini, if it was read
  std::vector<std::string> scanned;   // the scanned *.ini files, in order
  std::vector<RequestedExtension> extensions;
  std::vector<IniSetting> watched;    // settings IsDeprecatedIniKey() names, in order
  // Raw names of [PATH=...] / [HOST=...] sections seen: PHP's own parser
  // must see them once more (php_ini_has_per_dir_config()).
  std::vector<std::string> special_sections;
  // One line per file or directory not read, or read only in part:
  // "php.ini /etc/x.ini: skipped: larger than php.ini_max_file_size (4194304 bytes)".
  std::vector<std::string> problems;
};

// The extension a line names: "/usr/lib/php/20220829/mysqli.so",
// "mysqli.so", "MySQLi" -> "mysqli" (the file's base name without ".so",
// lower case). PHP's module names are the same for the extensions PHP ships.
std::string ExtensionName(std::string_view value);

// A name ExtensionName() gave that can name an extension file of ours:
// 1..64 characters of [a-z0-9_.-], not starting with '.' ("..", "",
// a name with a NUL or a '/' or a 1 MB name are not).
bool IsExtensionName(std::string_view name);

// What the extension lines mean for this PHP: `load` = the file of each
// extension `has_file(dir + "/" + name + ".so")` finds, once per name, in
// order; `maybe_builtin` = the lines with no file of ours (built in, or
// absent: checked after MINIT), once per name; `skipped` = one line each
// for a value that names no extension. Linear in the number of lines.
struct ResolvedExtensions {
  std::vector<RequestedExtension> load;  // value replaced by the file to load
  std::vector<RequestedExtension> maybe_builtin;
  std::vector<std::string> skipped;
};
ResolvedExtensions ResolveExtensions(const std::vector<RequestedExtension>& lines, const std::string& dir,
                                     const std::function<bool(const std::string& path)>& has_file);

// "php.ini FILE:LINE: extension=VALUE: skipped: WHY", VALUE escaped for the
// log and cut to 200 bytes.
std::string SkipLine(const RequestedExtension& e, std::string_view why);

// `ini_file` ("" = none) then every *.ini regular file of each directory
// in `scan_dirs` (':'-separated), in name order, into `configuration_hash`.
IniFilesRead ReadIniFiles(const std::string& ini_file, const std::string& scan_dirs, HashTable* configuration_hash,
                          const IniReadLimits& limits = {});

}  // namespace tfpm::sapi
