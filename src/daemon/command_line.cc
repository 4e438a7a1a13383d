#include "daemon/command_line.h"

#include <string_view>

namespace tfpm::daemon {

const char kUsage[] =
    "Usage: tfpm [--config FILE] [--foreground] [--test] [--version]\n"
    "       tfpm --fpm-config php-fpm.conf [php-fpm's options]\n"
    "\n"
    "  -c, --config FILE   YAML config (default: the built-in config, see\n"
    "                      `tfpm --print-default-config`)\n"
    "  -F, --foreground    stay in the foreground (systemd, containers)\n"
    "  -t, --test          check the config and exit (non-zero with the error)\n"
    "  -R, --allow-root    as root, accept pools without `user` (PHP then runs as root)\n"
    "  -m, --modules       the PHP modules a worker loads (like php -m)\n"
    "  -i, --info          phpinfo() of a worker's PHP (like php -i)\n"
    "      --ini           the php.ini and scanned .ini files a worker reads (php --ini)\n"
    "      --print-default-config\n"
    "  -v, --version\n"
    "  -y, --fpm-config FILE\n"
    "                      run from php-fpm's configuration (php-fpm.conf and the pool\n"
    "                      files it includes) with php-fpm's command line: see below\n"
    "\n"
    "php-fpm compatibility (with -y/--fpm-config; docs/migrating.md):\n"
    "  -c FILE|DIR         php.ini (default: $PHPRC, else php.ini beside php-fpm.conf)\n"
    "  -n                  no php.ini\n"
    "  -d name=value       a php.ini entry\n"
    "  -p, --prefix DIR    php-fpm's prefix for relative paths (default /usr)\n"
    "  -g, --pid FILE      pid file (overrides `pid`)\n"
    "  -t, --test          check the configuration and exit (-tt as -t)\n"
    "  -F, --nodaemonize   stay in the foreground (overrides `daemonize`)\n"
    "  -D, --daemonize     daemonize (overrides `daemonize`)\n"
    "  -R, --allow-to-run-as-root\n"
    "                      as root, accept pools without `user` (or user root)\n"
    "  -O, --force-stderr  accepted (logs go where error_log says)\n"
    "\n"
    "Signals: SIGQUIT graceful stop, SIGTERM/SIGINT fast stop, SIGUSR1 reopen logs,\n"
    "SIGUSR2 reload (a new generation of workers; see pm-ctl reload).\n";

namespace {

// The value of the option at args[*i] given as "-x VALUE", "-xVALUE" or
// "--long=VALUE"; advances *i past a separate value.
bool OptionValue(std::span<char* const> args, size_t* i, std::string_view shortname, std::string_view longname,
                 std::string* out) {
  std::string_view a = args[*i];
  if (a == shortname || (!longname.empty() && a == longname)) {
    if (*i + 1 >= args.size()) return false;
    *out = args[++*i];
    return true;
  }
  if (a.size() > 2 && a.substr(0, 2) == shortname && shortname.size() == 2 && a[1] != '-') {
    *out = std::string(a.substr(2));
    return true;
  }
  if (!longname.empty() && a.size() > longname.size() && a.substr(0, longname.size()) == longname &&
      a[longname.size()] == '=') {
    *out = std::string(a.substr(longname.size() + 1));
    return true;
  }
  return false;
}

// One of php-fpm's options (-y mode); false if `a` is none of them.
bool FpmOption(std::span<char* const> args, size_t* i, CommandLine* c) {
  std::string_view a = args[*i];
  FpmArgs& fpm = c->fpm;
  std::string v;
  if (OptionValue(args, i, "-y", "--fpm-config", &v)) return true;  // taken by the first pass
  if (OptionValue(args, i, "-c", "--php-ini", &v)) {
    fpm.ini_arg = v;
  } else if (OptionValue(args, i, "-p", "--prefix", &v)) {
    fpm.import.prefix = v;
  } else if (OptionValue(args, i, "-g", "--pid", &v)) {
    fpm.import.pid_file = v;
  } else if (OptionValue(args, i, "-d", "--define", &v)) {
    const auto eq = v.find('=');
    // php -d name (no value) sets "1", as PHP's CLI does.
    fpm.import.php_defines.emplace_back(v.substr(0, eq), eq == std::string::npos ? "1" : v.substr(eq + 1));
  } else if (a == "-t" || a == "-tt" || a == "--test") {
    c->test = true;
  } else if (a == "-F" || a == "--nodaemonize") {
    fpm.nodaemonize = true;
  } else if (a == "-D" || a == "--daemonize") {
    fpm.daemonize = true;
  } else if (a == "-R" || a == "--allow-to-run-as-root" || a == "--allow-root") {
    fpm.import.allow_root = c->allow_root = true;
  } else if (a == "-n" || a == "--no-php-ini") {
    fpm.no_ini = true;
  } else if (a != "-O" && a != "--force-stderr") {  // -O: accepted
    return false;
  }
  return true;
}

// One of tfpm's own options (not -y mode); false if `a` is none of them.
bool OwnOption(std::span<char* const> args, size_t* i, CommandLine* c) {
  std::string_view a = args[*i];
  if ((a == "-c" || a == "--config") && *i + 1 < args.size()) {
    c->config_path = args[++*i];
  } else if (a == "-F" || a == "--foreground") {
    c->foreground = true;
  } else if (a == "-t" || a == "--test") {
    c->test = true;
  } else if (a == "-R" || a == "--allow-root") {
    c->allow_root = true;
  } else {
    return false;
  }
  return true;
}

// Options of both modes; false if `a` is none of them.
bool CommonOption(std::string_view a, CommandLine* c) {
  if (a == "-m" || a == "--modules") {
    c->php_cli = "--modules";
  } else if (a == "-i" || a == "--info") {
    c->php_cli = "--info";
  } else if (a == "--ini") {
    c->php_cli = "--ini";
  } else if (a == "--print-default-config") {
    c->answer = CommandLine::Answer::kPrintDefaultConfig;
  } else if (a == "-v" || a == "--version") {
    c->answer = CommandLine::Answer::kVersion;
  } else if (a == "-h" || a == "--help") {
    c->answer = CommandLine::Answer::kHelp;
  } else {
    return false;
  }
  return true;
}

}  // namespace

Result<CommandLine> ParseCommandLine(std::span<char* const> args) {
  CommandLine c;
  // First pass: -y decides how every other option is read.
  for (size_t i = 0; i < args.size(); ++i) {
    std::string v;
    if (OptionValue(args, &i, "-y", "--fpm-config", &v)) {
      c.fpm_mode = true;
      c.fpm.config = v;
    } else if (std::string_view a = args[i]; a == "-y" || a == "--fpm-config") {
      return Status::InvalidArgument("tfpm: " + std::string(a) + " needs a file (php-fpm.conf)\n");
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (c.fpm_mode ? FpmOption(args, &i, &c) : OwnOption(args, &i, &c)) continue;
    if (!CommonOption(args[i], &c)) {
      return Status::InvalidArgument("tfpm: unknown argument '" + std::string(args[i]) + "'" +
                                     (c.fpm_mode ? " (php-fpm compatibility mode)" : "") + "\n" + kUsage);
    }
    if (c.answer != CommandLine::Answer::kNone) break;
  }
  return c;
}

}  // namespace tfpm::daemon
