// Where the daemon's configuration comes from, as the command line says:
// a YAML file (--config), the built-in config, or php-fpm's files (-y,
// imported the way php-fpm reads them: php.ini and scan directory chosen
// as php-fpm does). Also what a reload does to read it again.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "config/config.h"
#include "daemon/command_line.h"
#include "supervisor/supervisor.h"

namespace tfpm::daemon {

struct ConfigSource {
  config::Config config;
  std::string text;                  // the YAML the workers get (imported, for -y)
  std::string source = "<built-in>"; // the file named in messages
  bool foreground = false;           // -y: php-fpm's daemonize and -F/-D decide
  // -y: later checks' messages name the php-fpm file and line.
  std::function<std::string(std::string_view)> translate = [](std::string_view m) { return std::string(m); };
  // -y: pm-ctl reload / SIGUSR2 import php-fpm.conf again; pm-ctl
  // config-test FILE reads FILE as a php-fpm.conf too. Empty otherwise.
  decltype(supervisor::SupervisorOptions::reread_config) reread;
  decltype(supervisor::SupervisorOptions::import_config) import;
};

// Reads and loads the configuration `cl` names. -y prints php-fpm's
// warnings and notices to stderr as it reads (as php-fpm). An error's
// message is the whole text to print on stderr (the caller exits 1).
Result<ConfigSource> LoadConfigSource(CommandLine& cl);

}  // namespace tfpm::daemon
