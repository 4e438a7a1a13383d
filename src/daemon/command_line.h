// tfpm's command line: its own options (--config, --foreground, ...) and,
// with -y/--fpm-config, php-fpm's (docs/migrating.md). Parsing only: what
// the options mean is applied by main.cc and daemon/config_source.h.
#pragma once

#include <span>
#include <string>

#include "base/status.h"
#include "config/fpm_map.h"

namespace tfpm::daemon {

extern const char kUsage[];

// php-fpm's command line, entered by -y/--fpm-config: everything needed to
// import php-fpm.conf the way php-fpm would read it.
struct FpmArgs {
  std::string config;  // -y
  config::fpm::ImportOptions import;
  bool no_ini = false;                    // -n
  bool daemonize = false, nodaemonize = false;  // -D, -F
  std::string ini_arg;                    // -c
};

struct CommandLine {
  // An option that answers at once, before any config is read; parsing
  // stops at the first one (later arguments are not looked at).
  enum class Answer { kNone, kPrintDefaultConfig, kVersion, kHelp };
  Answer answer = Answer::kNone;
  std::string config_path;  // --config ("" = the built-in config)
  bool foreground = false;
  bool test = false;        // -t: check the config and exit
  bool allow_root = false;  // -R
  // --modules | --info | --ini: run by tfpm-worker ("" = none).
  std::string php_cli;
  bool fpm_mode = false;    // -y given
  FpmArgs fpm;
};

// Parses args (argv[1..]). An unknown argument, or -y without a file, is
// an InvalidArgument whose message is the whole text to print on stderr,
// newline-terminated (after an unknown argument, the usage); the caller
// exits 2.
Result<CommandLine> ParseCommandLine(std::span<char* const> args);

}  // namespace tfpm::daemon
