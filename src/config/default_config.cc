#include "config/default_config.h"

namespace tfpm::config {

std::string EmbeddedDefaultConfig() {
  return R"yaml(# tfpm built-in configuration (used when no --config is given)
daemon:
  error_log: /var/log/tfpm/error.log
  log_level: notice
  pid_file: /run/tfpm/tfpm.pid
  control_socket: /run/tfpm/tfpm.sock

php:
  ini:
    memory_limit: 128M

pools:
  www:
    listen: 127.0.0.1:9000
    # PHP runs as this user when tfpm runs as root (www-data exists on
    # every Debian system); without root it is ignored.
    user: www-data
    processes: 1
    threads: 4
    mode: classic
)yaml";
}

}  // namespace tfpm::config
