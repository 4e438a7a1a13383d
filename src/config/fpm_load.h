// Loading php-fpm's configuration as a tfpm Config: parse (fpm_ini.h), map
// to tfpm YAML (fpm_map.h), then the ordinary YAML loader, whose messages
// are turned back into php-fpm file:line. The YAML text is kept: it is what
// the supervisor hands its workers, exactly as for a YAML config.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "config/config.h"
#include "config/fpm_ini.h"
#include "config/fpm_map.h"

namespace tfpm::config {

struct FpmLoaded {
  Config config;
  std::string yaml;                    // the imported text `config` was loaded from
  std::vector<fpm::Note> notes;        // directives not honoured as php-fpm does
  std::vector<std::string> warnings;   // the parser's
  bool daemonize = true;               // php-fpm's `daemonize`
  // A "<path>:<yaml line>: key: what" message about `config` (a later
  // check: files, users) with the php-fpm file and line instead.
  std::function<std::string(std::string_view)> translate;
};

// Reads `path` (php-fpm.conf) and what it includes. Errors name the php-fpm
// file and line: "[/etc/php/8.2/fpm/pool.d/www.conf:7] unknown entry 'foo'".
Result<FpmLoaded> LoadFpmConfig(const std::string& path, const fpm::ImportOptions& options,
                                fpm::Files& files = fpm::SystemFiles());

}  // namespace tfpm::config
