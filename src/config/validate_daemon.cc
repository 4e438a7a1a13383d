// The daemon: and php: sections of tfpm.yaml: one table row per key
// (kind, bounds, check, where it lands in DaemonConfig / PhpConfig).
#include <utility>

#include "config/field_checks.h"
#include "config/fields.h"

namespace tfpm::config::fields {
namespace {

constexpr int64_t kMaxDuration = 24 * kHour;

constexpr std::string_view kLogLevelNames[] = {"alert", "error", "warning", "notice", "debug"};

constexpr Field<DaemonConfig> kDaemonFields[] = {
    {.key = "error_log", .kind = Kind::kString,
     .set = [](DaemonConfig& d, Value& v) { d.error_log = std::move(v.str); },
     .check = NonEmpty},
    {.key = "log_level", .kind = Kind::kEnum,
     .set = [](DaemonConfig& d, Value& v) { d.log_level = static_cast<LogLevel>(v.integer); },
     .names = kLogLevelNames},
    {.key = "pid_file", .kind = Kind::kString,
     .set = [](DaemonConfig& d, Value& v) { d.pid_file = std::move(v.str); }},
    {.key = "control_socket", .kind = Kind::kString,
     .set = [](DaemonConfig& d, Value& v) { d.control_socket = std::move(v.str); },
     .check = NonEmpty},
    {.key = "process_control_timeout", .kind = Kind::kDuration,
     .set = [](DaemonConfig& d, Value& v) { d.process_control_timeout = v.duration; },
     .min = 0, .max = kMaxDuration},
    {.key = "drain_delay", .kind = Kind::kDuration,
     .set = [](DaemonConfig& d, Value& v) { d.drain_delay = v.duration; },
     .min = 0, .max = 10 * kMinute},
    {.key = "control_socket_mode", .kind = Kind::kOctalMode,
     .set = [](DaemonConfig& d, Value& v) { d.control_socket_mode = v.mode; },
     .min = 0, .max = 0777},
    {.key = "control_socket_owner", .kind = Kind::kString,
     .set = [](DaemonConfig& d, Value& v) { d.control_socket_owner = std::move(v.str); }},
    {.key = "control_socket_group", .kind = Kind::kString,
     .set = [](DaemonConfig& d, Value& v) { d.control_socket_group = std::move(v.str); }},
    {.key = "emergency_restart_threshold", .kind = Kind::kInt,
     .set = [](DaemonConfig& d, Value& v) { d.emergency_restart_threshold = static_cast<int>(v.integer); },
     .min = 0, .max = 100000},
    {.key = "emergency_restart_interval", .kind = Kind::kDuration,
     .set = [](DaemonConfig& d, Value& v) { d.emergency_restart_interval = v.duration; },
     .min = 0, .max = kMaxDuration},
    {.key = "startup_probation", .kind = Kind::kDuration,
     .set = [](DaemonConfig& d, Value& v) { d.startup_probation = v.duration; },
     .min = 0, .max = 10 * kMinute},
    {.key = "log_limit", .kind = Kind::kInt,
     .set = [](DaemonConfig& d, Value& v) { d.log_limit = static_cast<size_t>(v.integer); },
     .min = 512, .max = 1 << 30},  // php-fpm: ZLOG_MIN_LIMIT 512
    {.key = "rlimit_files", .kind = Kind::kInt,
     .set = [](DaemonConfig& d, Value& v) { d.rlimit_files = static_cast<uint64_t>(v.integer); },
     .min = 16, .max = 1 << 30},
    {.key = "rlimit_core", .kind = Kind::kString,
     .set = [](DaemonConfig& d, Value& v) { d.rlimit_core = RlimitCoreValue(v.str); },
     .check = RlimitCore},
    {.key = "process_max", .kind = Kind::kInt,
     .set = [](DaemonConfig& d, Value& v) { d.process_max = static_cast<int>(v.integer); },
     .min = 0, .max = 1 << 20},
    {.key = "control_max_clients", .kind = Kind::kInt,
     .set = [](DaemonConfig& d, Value& v) { d.control_max_clients = static_cast<int>(v.integer); },
     .min = 1, .max = 65536},
    {.key = "control_timeout", .kind = Kind::kDuration,
     .set = [](DaemonConfig& d, Value& v) { d.control_timeout = v.duration; },
     .min = 100, .max = kHour},
};

constexpr Field<PhpConfig> kPhpFields[] = {
    {.key = "ini_file", .kind = Kind::kString,
     .set = [](PhpConfig& p, Value& v) { p.ini_file = std::move(v.str); }},
    {.key = "scan_dir", .kind = Kind::kString,
     .set = [](PhpConfig& p, Value& v) { p.scan_dir = std::move(v.str); }},
    {.key = "extensions_by_name", .kind = Kind::kBool,
     .set = [](PhpConfig& p, Value& v) { p.extensions_by_name = v.boolean; }},
    {.key = "ini_max_file_size", .kind = Kind::kSize,
     .set = [](PhpConfig& p, Value& v) { p.ini_max_file_size = v.size; },
     .min = 1024, .max = static_cast<int64_t>(1) * kGiB},
    {.key = "ini_max_files", .kind = Kind::kInt,
     .set = [](PhpConfig& p, Value& v) { p.ini_max_files = static_cast<int>(v.integer); },
     .min = 1, .max = 100000},
    {.key = "ini", .kind = Kind::kKeyValues,
     .set = [](PhpConfig& p, Value& v) { p.ini = std::move(v.pairs); },
     .check = NonEmpty, .ini_bools = true},
};

}  // namespace

Status ParseDaemon(Config& c, const Node& n, const std::string& path, const Context& ctx) {
  return WalkMapping<DaemonConfig>(kDaemonFields, c.daemon, n, path, n.key_line, ctx, nullptr);
}

Status ParsePhp(Config& c, const Node& n, const std::string& path, const Context& ctx) {
  return WalkMapping<PhpConfig>(kPhpFields, c.php, n, path, n.key_line, ctx, nullptr);
}

}  // namespace tfpm::config::fields
