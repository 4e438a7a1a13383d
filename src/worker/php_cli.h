#pragma once
// `tfpm -m`, `tfpm -i`, `tfpm --ini`: PHP started as a worker of the first
// pool would start it (same php.ini, scan directory and php_value), then the
// answer php -m / php -i / php --ini gives, on stdout.

#include <string>

namespace tfpm::worker {

enum class PhpCliMode { kNone, kModules, kInfo, kIni };

// `config_path` "" = the embedded default config. Returns the exit status.
int RunPhpCli(PhpCliMode mode, const std::string& config_path);

}  // namespace tfpm::worker
