// The mapping table (kRules): for every directive php-fpm 8.x knows, what
// tfpm does with it, and the lookups and Markdown rendering over it
// (docs/migrating.md holds RulesMarkdown()). Only this file holds the table.
#include <string>

#include "config/fpm_map.h"
#include "config/fpm_values.h"

namespace tfpm::config::fpm {
namespace {

using VK = ValueKind;


// The one table. Change a row here when a feature lands (e.g. user/group:
// kNotYet -> kMapped with its tfpm key) and the importer, the daemon's
// messages and docs/migrating.md (checked by a unit test) follow.
constexpr Rule kRules[] = {
    // [global]
    {"include", Scope::kGlobal, VK::kInclude, Fate::kMapped, "(read)",
     "a glob; a relative pattern is taken from the prefix (-p, else /usr), as php-fpm"},
    {"pid", Scope::kGlobal, VK::kString, Fate::kMapped, "daemon.pid_file", "-g overrides it"},
    {"error_log", Scope::kGlobal, VK::kString, Fate::kMapped, "daemon.error_log",
     "`syslog` is not supported: tfpm logs to stderr instead (journald under systemd)"},
    {"syslog.ident", Scope::kGlobal, VK::kString, Fate::kUnsupported, "",
     "tfpm does not log to syslog (error_log = syslog becomes stderr)"},
    {"syslog.facility", Scope::kGlobal, VK::kString, Fate::kUnsupported, "",
     "tfpm does not log to syslog (error_log = syslog becomes stderr)"},
    {"log_buffering", Scope::kGlobal, VK::kBool, Fate::kIgnored, "",
     "tfpm always writes whole lines"},
    {"log_level", Scope::kGlobal, VK::kLogLevel, Fate::kMapped, "daemon.log_level", ""},
    {"log_limit", Scope::kGlobal, VK::kInt, Fate::kMapped, "daemon.log_limit", ""},
    {"emergency_restart_threshold", Scope::kGlobal, VK::kInt, Fate::kMapped,
     "daemon.emergency_restart_threshold", ""},
    {"emergency_restart_interval", Scope::kGlobal, VK::kTime, Fate::kMapped,
     "daemon.emergency_restart_interval", ""},
    {"process_control_timeout", Scope::kGlobal, VK::kTime, Fate::kMapped,
     "daemon.process_control_timeout", "php-fpm's default (0, no limit) is kept"},
    {"process.max", Scope::kGlobal, VK::kInt, Fate::kMapped, "daemon.process_max", "0 = no limit"},
    {"process.priority", Scope::kGlobal, VK::kInt, Fate::kUnsupported, "",
     "processes run at the daemon's priority (systemd: Nice=)"},
    {"daemonize", Scope::kGlobal, VK::kBool, Fate::kMapped, "--foreground",
     "-F / -D on the command line override it"},
    {"rlimit_files", Scope::kGlobal, VK::kInt, Fate::kMapped, "daemon.rlimit_files", "0 = unset"},
    {"rlimit_core", Scope::kGlobal, VK::kRlimitCore, Fate::kMapped, "daemon.rlimit_core", ""},
    {"events.mechanism", Scope::kGlobal, VK::kString, Fate::kIgnored, "", "tfpm always uses epoll"},
    {"systemd_interval", Scope::kGlobal, VK::kTime, Fate::kIgnored, "",
     "tfpm updates STATUS= itself and honours WatchdogSec="},
    {"tfpm.*", Scope::kGlobal, VK::kString, Fate::kMapped, "daemon.*",
     "tfpm's own daemon keys, e.g. tfpm.control_socket (php-fpm rejects these lines)"},
    // pools
    {"prefix", Scope::kPool, VK::kString, Fate::kMapped, "(relative paths)",
     "relative listen, access.log, slowlog, chdir are taken from it"},
    {"user", Scope::kPool, VK::kString, Fate::kMapped, "user",
     "as root the workers switch to it before PHP starts; a pool without one needs -R"},
    {"group", Scope::kPool, VK::kString, Fate::kMapped, "group", ""},
    {"listen", Scope::kPool, VK::kString, Fate::kMapped, "listen", ""},
    {"listen.backlog", Scope::kPool, VK::kInt, Fate::kMapped, "listen_backlog",
     "-1 (php-fpm's default) means tfpm's default, 511"},
    {"listen.acl_users", Scope::kPool, VK::kString, Fate::kMapped, "listen_acl_users",
     "a list; unix sockets only (ignored for TCP, as php-fpm); listen.owner/group are then ignored, as php-fpm"},
    {"listen.acl_groups", Scope::kPool, VK::kString, Fate::kMapped, "listen_acl_groups",
     "as listen.acl_users"},
    {"listen.owner", Scope::kPool, VK::kString, Fate::kMapped, "listen_owner", ""},
    {"listen.group", Scope::kPool, VK::kString, Fate::kMapped, "listen_group", ""},
    {"listen.mode", Scope::kPool, VK::kString, Fate::kMapped, "listen_mode", ""},
    {"listen.allowed_clients", Scope::kPool, VK::kString, Fate::kMapped, "listen_allowed_clients",
     "a list; TCP only (ignored for a unix socket, as php-fpm); CIDR networks too; an invalid address is an error, "
     "not skipped"},
    {"process.priority", Scope::kPool, VK::kInt, Fate::kMapped, "process_priority", ""},
    {"process.dumpable", Scope::kPool, VK::kBool, Fate::kMapped, "process_dumpable", ""},
    {"pm", Scope::kPool, VK::kPm, Fate::kMapped, "pm", "counts threads (see the rule below)"},
    {"pm.max_children", Scope::kPool, VK::kInt, Fate::kChanged, "processes, threads",
     "becomes processes x threads: 1 process with up to 64 threads, more processes above that "
     "(tfpm.processes / tfpm.threads override)"},
    {"pm.start_servers", Scope::kPool, VK::kInt, Fate::kChanged, "start_threads",
     "per process: divided by the processes, rounded up"},
    {"pm.min_spare_servers", Scope::kPool, VK::kInt, Fate::kChanged, "min_spare_threads",
     "per process: divided by the processes, rounded up"},
    {"pm.max_spare_servers", Scope::kPool, VK::kInt, Fate::kChanged, "max_spare_threads",
     "per process: divided by the processes, rounded up"},
    {"pm.max_spawn_rate", Scope::kPool, VK::kInt, Fate::kChanged, "max_spawn_rate",
     "threads started per process per second: divided by the processes, rounded up; the whole rate "
     "is allowed at once (php-fpm doubles from 1 up to it, one step per second)"},
    {"pm.process_idle_timeout", Scope::kPool, VK::kTime, Fate::kMapped, "idle_timeout", ""},
    {"pm.max_requests", Scope::kPool, VK::kInt, Fate::kChanged, "process_max_requests",
     "a process is replaced after N x threads requests (process_max_requests); each thread's interpreter after N "
     "(max_requests)"},
    {"pm.status_path", Scope::kPool, VK::kString, Fate::kMapped, "status_path", ""},
    {"pm.status_listen", Scope::kPool, VK::kString, Fate::kMapped, "status_listen", ""},
    {"ping.path", Scope::kPool, VK::kString, Fate::kMapped, "ping_path", ""},
    {"ping.response", Scope::kPool, VK::kString, Fate::kMapped, "ping_response", ""},
    {"access.log", Scope::kPool, VK::kString, Fate::kMapped, "access_log", ""},
    {"access.format", Scope::kPool, VK::kString, Fate::kMapped, "access_format", ""},
    {"access.suppress_path[]", Scope::kPool, VK::kArray, Fate::kMapped, "access_suppress_path", ""},
    {"slowlog", Scope::kPool, VK::kString, Fate::kMapped, "slowlog", ""},
    {"request_slowlog_timeout", Scope::kPool, VK::kTime, Fate::kMapped, "request_slowlog_timeout", ""},
    {"request_slowlog_trace_depth", Scope::kPool, VK::kInt, Fate::kMapped, "request_slowlog_trace_depth", ""},
    {"request_terminate_timeout", Scope::kPool, VK::kTime, Fate::kChanged, "request_terminate_timeout",
     "ends the request only; the thread serves again (php-fpm kills the child)"},
    {"request_terminate_timeout_track_finished", Scope::kPool, VK::kBool, Fate::kMapped,
     "request_terminate_timeout_track_finished", ""},
    {"rlimit_files", Scope::kPool, VK::kInt, Fate::kMapped, "rlimit_files", "0 = the daemon's"},
    {"rlimit_core", Scope::kPool, VK::kRlimitCore, Fate::kMapped, "rlimit_core", ""},
    {"chroot", Scope::kPool, VK::kString, Fate::kMapped, "chroot",
     "PHP's MINIT runs inside it: php.ini and extensions must be reachable there"},
    {"chdir", Scope::kPool, VK::kString, Fate::kMapped, "chdir", ""},
    {"catch_workers_output", Scope::kPool, VK::kBool, Fate::kMapped, "catch_workers_output", ""},
    {"decorate_workers_output", Scope::kPool, VK::kBool, Fate::kMapped, "decorate_workers_output", ""},
    {"clear_env", Scope::kPool, VK::kBool, Fate::kMapped, "clear_env", ""},
    {"security.limit_extensions", Scope::kPool, VK::kString, Fate::kMapped, "limit_extensions",
     "php-fpm's default (.php .phar) is kept"},
    {"php_value[]", Scope::kPool, VK::kArray, Fate::kMapped, "php_value", ""},
    {"php_flag[]", Scope::kPool, VK::kArray, Fate::kMapped, "php_value", "on/off become 1/0"},
    {"php_admin_value[]", Scope::kPool, VK::kArray, Fate::kMapped, "php_admin_value", ""},
    {"php_admin_flag[]", Scope::kPool, VK::kArray, Fate::kMapped, "php_admin_value", "on/off become 1/0"},
    {"env[]", Scope::kPool, VK::kArray, Fate::kMapped, "env", ""},
    {"apparmor_hat", Scope::kPool, VK::kString, Fate::kUnsupported, "", "no AppArmor hat change"},
    {"tfpm.*", Scope::kPool, VK::kString, Fate::kMapped, "*",
     "tfpm's own pool keys, e.g. tfpm.threads, tfpm.max_wait_time (php-fpm rejects these lines)"},
};

}  // namespace

std::string_view FateName(Fate fate) {
  switch (fate) {
    case Fate::kMapped: return "mapped";
    case Fate::kChanged: return "changed";
    case Fate::kIgnored: return "ignored";
    case Fate::kUnsupported: return "not supported";
    case Fate::kNotYet: return "not yet supported";
  }
  return "?";
}

std::span<const Rule> Rules() { return kRules; }

const Rule* FindRule(Scope scope, std::string_view directive) {
  for (const Rule& r : kRules) {
    if (r.scope == scope && EqualsNoCase(r.directive, directive)) return &r;
  }
  return nullptr;
}

std::string RulesMarkdown() {
  std::string out = "| php-fpm directive | section | tfpm | what tfpm does |\n|---|---|---|---|\n";
  for (const Rule& r : kRules) {
    std::string tfpm = r.tfpm.empty() ? "—" : "`" + std::string(r.tfpm) + "`";
    std::string what(FateName(r.fate));
    if (!r.reason.empty()) what += ": " + std::string(r.reason);
    out += "| `" + std::string(r.directive) + "` | " + (r.scope == Scope::kGlobal ? "global" : "pool") + " | " +
           tfpm + " | " + what + " |\n";
  }
  return out;
}

}  // namespace tfpm::config::fpm
