// php.ini and the scan directories read the way php_init_config() reads
// them, with one difference: `extension=` and `zend_extension=` lines are
// handed back instead of queued for loading (RuntimeOptions::
// extensions_by_name). PHP's own reader queues every such line for
// dlopen(); a php.ini written for another PHP (Debian's 8.2 conf.d naming
// /usr/lib/php/20220829/mysqli.so) would then try a foreign file and warn
// in every process. The caller decides what each line means for this PHP.
//
// Called from sapi_module.ini_defaults, i.e. inside php_init_config(),
// while the process has a single thread; PHP itself is then told to read no
// file (php_ini_ignore).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <main/php.h>

namespace tfpm::sapi {

struct RequestedExtension {
  std::string value;  // as written: "mysqli", "mysqli.so", "/usr/lib/php/20220829/mysqli.so"
  bool zend = false;  // zend_extension=
  std::string file;
  int line = 0;
};

struct IniFilesRead {
  std::string opened;                 // php.ini, if it was read
  std::vector<std::string> scanned;   // the scanned *.ini files, in order
  std::vector<RequestedExtension> extensions;
  // Raw names of [PATH=...] / [HOST=...] sections seen: PHP's own parser
  // must see them once more (php_ini_has_per_dir_config()).
  std::vector<std::string> special_sections;
};

// The extension a line names: "/usr/lib/php/20220829/mysqli.so",
// "mysqli.so", "MySQLi" -> "mysqli" (the file's base name without ".so",
// lower case). PHP's module names are the same for the extensions PHP ships.
std::string ExtensionName(std::string_view value);

// `ini_file` ("" = none) then every *.ini regular file of each directory
// in `scan_dirs` (':'-separated), in name order, into `configuration_hash`.
IniFilesRead ReadIniFiles(const std::string& ini_file, const std::string& scan_dirs, HashTable* configuration_hash);

}  // namespace tfpm::sapi
