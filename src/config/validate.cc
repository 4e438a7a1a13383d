#include "config/validate.h"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include "accesslog/format.h"
#include "base/client_filter.h"

namespace tfpm::config {
namespace {

using std::chrono::milliseconds;

// ------------------------------------------------------------------ kinds

enum class Kind {
  kString,      // any scalar, kept as text; null = ""
  kBool,        // unquoted true/false/yes/no/on/off (lower, Title or UPPER case)
  kInt,         // unquoted decimal integer within [min, max]
  kSize,        // "64K" / "8M" / "1G" / bytes, within [min, max] bytes
  kDuration,    // "500ms" / "30s" / "2m" / "1h" / seconds, within [min, max] ms
  kOctalMode,   // "660" / "0660" (always octal), within [min, max]
  kEnum,        // one of `names`
  kStringList,  // sequence of scalars
  kKeyValues,   // mapping of scalar -> scalar, order kept; null = empty
  kMapping,     // nested mapping described by `members`, same target
  kCustom,      // handled by `custom` (sections with their own target)
};

// A node converted according to its row's kind; the row's setter picks the
// member that kind fills.
struct Value {
  std::string str;                // kString; kEnum: the name
  bool boolean = false;           // kBool
  int64_t integer = 0;            // kInt; kEnum: index into names
  uint64_t size = 0;              // kSize
  milliseconds duration{0};       // kDuration
  uint32_t mode = 0;              // kOctalMode
  std::vector<std::string> list;  // kStringList
  KeyValues pairs;                // kKeyValues
};

struct Context {
  std::string_view source;
};

// nullptr if `text` is acceptable, else the complaint.
using Check = const char* (*)(std::string_view text);

// One row of a section table.
template <typename T>
struct Field {
  std::string_view key;
  Kind kind = Kind::kString;
  void (*set)(T&, Value&) = nullptr;  // all kinds but kMapping / kCustom
  int64_t min = 0;                    // kInt, kSize (bytes), kDuration (ms), kOctalMode
  int64_t max = 0;
  std::span<const std::string_view> names = {};  // kEnum
  // kString: the value (also when empty); kStringList: each item;
  // kKeyValues: each key.
  Check check = nullptr;
  bool required = false;   // missing -> "<path>: is required" at the owner's line
  bool ini_bools = false;  // kKeyValues: YAML booleans become "1" / "0" (PHP INI)
  std::span<const Field> members = {};  // kMapping
  Status (*custom)(T&, const Node&, const std::string& path, const Context&) = nullptr;
};

// Keys met while walking a mapping, for cross-field checks.
struct Seen {
  std::string_view key;
  int key_line;
  int line;  // the value's line
};
using SeenKeys = std::vector<Seen>;

const Seen* FindSeen(const SeenKeys& seen, std::string_view key) {
  for (const Seen& s : seen) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

// ------------------------------------------------------------- messages

Status Error(const Context& ctx, int line, std::string_view path, std::string_view what) {
  return ConfigError(ctx.source, line, path, what);
}

std::string Join(std::string_view path, std::string_view key) {
  std::string out(path);
  if (!out.empty()) out += '.';
  out += key;
  return out;
}

constexpr uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
constexpr int64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute;

std::string FormatSize(uint64_t bytes) {
  if (bytes != 0 && bytes % kGiB == 0) return std::to_string(bytes / kGiB) + "G";
  if (bytes != 0 && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + "M";
  if (bytes != 0 && bytes % kKiB == 0) return std::to_string(bytes / kKiB) + "K";
  return std::to_string(bytes);
}

std::string FormatDuration(int64_t ms) {
  if (ms != 0 && ms % kHour == 0) return std::to_string(ms / kHour) + "h";
  if (ms != 0 && ms % kMinute == 0) return std::to_string(ms / kMinute) + "m";
  if (ms != 0 && ms % kSecond == 0) return std::to_string(ms / kSecond) + "s";
  if (ms == 0) return "0";
  return std::to_string(ms) + "ms";
}

std::string FormatOctal(int64_t mode) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, mode, 8);
  (void)ec;
  std::string digits(buf, end);
  while (digits.size() < 3) digits.insert(digits.begin(), '0');
  return "0" + digits;
}

std::string FormatBound(Kind kind, int64_t bound) {
  switch (kind) {
    case Kind::kSize: return FormatSize(static_cast<uint64_t>(bound));
    case Kind::kDuration: return FormatDuration(bound);
    case Kind::kOctalMode: return FormatOctal(bound);
    default: return std::to_string(bound);
  }
}

// ------------------------------------------------------------- scalars

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// YAML 1.1 booleans as yaml-cpp reads them, minus the one-letter y/n.
std::optional<bool> ParseBool(std::string_view s) {
  static constexpr std::string_view kTrue[] = {"true", "True", "TRUE", "yes", "Yes",
                                               "YES",  "on",   "On",   "ON"};
  static constexpr std::string_view kFalse[] = {"false", "False", "FALSE", "no", "No",
                                                "NO",    "off",   "Off",   "OFF"};
  for (std::string_view t : kTrue) {
    if (s == t) return true;
  }
  for (std::string_view f : kFalse) {
    if (s == f) return false;
  }
  return std::nullopt;
}

// Decimal with optional sign; out-of-range values saturate so that the
// bounds check reports them.
std::optional<int64_t> ParseInt(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (!IsDigits(s)) return std::nullopt;
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), magnitude);
  (void)ptr;
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  if (ec == std::errc::result_out_of_range || magnitude > kMax) {
    return negative ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  int64_t value = static_cast<int64_t>(magnitude);
  return negative ? -value : value;
}

// Parses leading digits of `s` with the unit multiplier, refusing overflow
// past `limit`.
std::optional<uint64_t> ScaledNumber(std::string_view digits, uint64_t multiplier,
                                     uint64_t limit) {
  if (!IsDigits(digits)) return std::nullopt;
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  (void)ptr;
  if (ec != std::errc() || n > limit / multiplier) return std::nullopt;
  return n * multiplier;
}

// "0660" / "660": 3 or 4 octal digits.
std::optional<int64_t> ParseOctalMode(std::string_view s) {
  if (s.size() < 3 || s.size() > 4) return std::nullopt;
  int64_t mode = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return std::nullopt;
    mode = mode * 8 + (c - '0');
  }
  return mode;
}

// ------------------------------------------------------------- checks

const char* NonEmpty(std::string_view s) { return s.empty() ? "must not be empty" : nullptr; }

const char* AbsolutePath(std::string_view s) {
  return s.empty() || s.front() != '/' ? "must be an absolute path" : nullptr;
}

const char* AbsolutePathIfSet(std::string_view s) {
  return !s.empty() && s.front() != '/' ? "must be an absolute path" : nullptr;
}

const char* UriPathIfSet(std::string_view s) {
  return !s.empty() && s.front() != '/' ? "must start with '/'" : nullptr;
}

const char* UriPath(std::string_view s) {
  return s.empty() || s.front() != '/' ? "must start with '/'" : nullptr;
}

const char* Extension(std::string_view s) {
  return s.size() < 2 || s.front() != '.' ? "must start with '.'" : nullptr;
}

const char* EnvName(std::string_view s) {
  if (s.empty()) return "must not be empty";
  return s.find('=') != std::string_view::npos ? "must not contain '='" : nullptr;
}

// PHP takes the code paths of its console SAPIs when sapi_module.name is
// one of theirs (output to the terminal, opcache.enable_cli, readline,
// STDIN/STDOUT constants...): a pool that serves requests never claims one.
const char* SapiName(std::string_view s) {
  if (s.empty()) return "must not be empty";
  static constexpr std::string_view kReserved[] = {"cli", "cli-server", "phpdbg", "embed", "cgi"};
  for (std::string_view r : kReserved) {
    if (s == r) return "must not be the name of a console SAPI (cli, cli-server, phpdbg, embed, cgi)";
  }
  return nullptr;
}

// php-fpm's rlimit_core: a byte count or "unlimited".
const char* RlimitCore(std::string_view s) {
  if (s == "unlimited" || (IsDigits(s) && s.size() <= 18)) return nullptr;
  return "must be a number of bytes (0 = unchanged) or unlimited";
}

uint64_t RlimitCoreValue(std::string_view s) {
  if (s == "unlimited") return kRlimitUnlimited;
  uint64_t n = 0;
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

// A user or group: a name or a numeric id, as php-fpm takes them.
const char* Principal(std::string_view s) {
  for (char c : s) {
    if (c == ':' || c == '\n' || c == '\0' || c == '/') return "must be a user or group name or a numeric id";
  }
  return nullptr;
}

bool IsPoolName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// ------------------------------------------------------------- walking

template <typename T>
Status WalkMapping(std::span<const Field<T>> fields, T& target, const Node& node,
                   const std::string& path, int owner_line, const Context& ctx, SeenKeys* seen);

std::string OneOf(std::span<const std::string_view> names) {
  std::string out = "must be one of ";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i != 0) out += ", ";
    out += names[i];
  }
  return out;
}

Status CheckBounds(Kind kind, int64_t value, int64_t min, int64_t max, const Node& node,
                   const std::string& path, const Context& ctx) {
  if (value < min) return Error(ctx, node.line, path, "must be >= " + FormatBound(kind, min));
  if (value > max) return Error(ctx, node.line, path, "must be <= " + FormatBound(kind, max));
  return Status::Ok();
}

// Converts a scalar-ish node per the row's kind into `out`.
template <typename T>
Status Convert(const Field<T>& f, const Node& node, const std::string& path, const Context& ctx,
               Value& out) {
  const bool scalar = node.type == Node::Type::kScalar;
  switch (f.kind) {
    case Kind::kString: {
      if (node.type == Node::Type::kNull) {
        out.str.clear();
      } else if (scalar) {
        out.str = node.text;
      } else {
        return Error(ctx, node.line, path, "expected a string");
      }
      if (f.check != nullptr) {
        if (const char* why = f.check(out.str)) return Error(ctx, node.line, path, why);
      }
      return Status::Ok();
    }
    case Kind::kBool: {
      std::optional<bool> b;
      if (scalar && node.plain) b = ParseBool(node.text);
      if (!b) return Error(ctx, node.line, path, "expected a boolean (true or false)");
      out.boolean = *b;
      return Status::Ok();
    }
    case Kind::kInt: {
      std::optional<int64_t> i;
      if (scalar && node.plain) i = ParseInt(node.text);
      if (!i) return Error(ctx, node.line, path, "expected an integer");
      out.integer = *i;
      return CheckBounds(f.kind, *i, f.min, f.max, node, path, ctx);
    }
    case Kind::kSize: {
      std::optional<uint64_t> size;
      if (scalar) size = ParseSize(node.text);
      if (!size) return Error(ctx, node.line, path, "expected a size such as 64K, 8M or 1G");
      out.size = *size;
      const uint64_t min = static_cast<uint64_t>(f.min), max = static_cast<uint64_t>(f.max);
      if (*size < min) return Error(ctx, node.line, path, "must be >= " + FormatSize(min));
      if (*size > max) return Error(ctx, node.line, path, "must be <= " + FormatSize(max));
      return Status::Ok();
    }
    case Kind::kDuration: {
      std::optional<milliseconds> d;
      if (scalar) d = ParseDuration(node.text);
      if (!d) {
        return Error(ctx, node.line, path, "expected a duration such as 500ms, 30s, 2m or 1h");
      }
      out.duration = *d;
      return CheckBounds(f.kind, d->count(), f.min, f.max, node, path, ctx);
    }
    case Kind::kOctalMode: {
      std::optional<int64_t> mode;
      if (scalar) mode = ParseOctalMode(node.text);
      if (!mode) return Error(ctx, node.line, path, "expected an octal mode such as \"0660\"");
      out.mode = static_cast<uint32_t>(*mode);
      return CheckBounds(f.kind, *mode, f.min, f.max, node, path, ctx);
    }
    case Kind::kEnum: {
      if (!scalar) return Error(ctx, node.line, path, "expected a string");
      for (size_t i = 0; i < f.names.size(); ++i) {
        if (node.text == f.names[i]) {
          out.str = node.text;
          out.integer = static_cast<int64_t>(i);
          return Status::Ok();
        }
      }
      return Error(ctx, node.line, path, OneOf(f.names));
    }
    case Kind::kStringList: {
      if (node.type != Node::Type::kSequence) {
        return Error(ctx, node.line, path, "expected a list of strings");
      }
      for (size_t i = 0; i < node.children.size(); ++i) {
        const Node& item = node.children[i];
        std::string item_path = path + "[" + std::to_string(i) + "]";
        if (item.type != Node::Type::kScalar) return Error(ctx, item.line, item_path, "expected a string");
        if (f.check != nullptr) {
          if (const char* why = f.check(item.text)) return Error(ctx, item.line, item_path, why);
        }
        out.list.push_back(item.text);
      }
      return Status::Ok();
    }
    case Kind::kKeyValues: {
      if (node.type == Node::Type::kNull) return Status::Ok();
      if (node.type != Node::Type::kMapping) return Error(ctx, node.line, path, "expected a mapping");
      for (const Node& member : node.children) {
        std::string member_path = Join(path, member.key);
        if (f.check != nullptr) {
          if (const char* why = f.check(member.key)) {
            return Error(ctx, member.key_line, member_path, why);
          }
        }
        for (const auto& [key, value] : out.pairs) {
          if (key == member.key) return Error(ctx, member.key_line, member_path, "duplicate key");
        }
        std::string value;
        if (member.type == Node::Type::kScalar) {
          value = member.text;
          if (f.ini_bools && member.plain) {
            if (std::optional<bool> b = ParseBool(member.text)) value = *b ? "1" : "0";
          }
        } else if (member.type != Node::Type::kNull) {
          return Error(ctx, member.line, member_path, "expected a scalar value");
        }
        out.pairs.emplace_back(member.key, std::move(value));
      }
      return Status::Ok();
    }
    case Kind::kMapping:
    case Kind::kCustom:
      break;
  }
  return Error(ctx, node.line, path, "internal error: no converter");
}

template <typename T>
Status Apply(const Field<T>& f, T& target, const Node& node, const std::string& path,
             const Context& ctx) {
  if (f.kind == Kind::kMapping) {
    return WalkMapping<T>(f.members, target, node, path, node.key_line, ctx, nullptr);
  }
  if (f.kind == Kind::kCustom) return f.custom(target, node, path, ctx);
  Value value;
  if (Status s = Convert(f, node, path, ctx, value); !s.ok()) return s;
  f.set(target, value);
  return Status::Ok();
}

// Walks the members of `node` (a mapping; null counts as empty) in file
// order, applying the matching row of `fields` to each. `owner_line` is
// where "is required" errors point (the line of the mapping's own key).
template <typename T>
Status WalkMapping(std::span<const Field<T>> fields, T& target, const Node& node,
                   const std::string& path, int owner_line, const Context& ctx, SeenKeys* seen) {
  if (node.type != Node::Type::kMapping && node.type != Node::Type::kNull) {
    return Error(ctx, node.line, path, "expected a mapping");
  }
  SeenKeys local;
  SeenKeys& met = seen != nullptr ? *seen : local;
  for (const Node& member : node.children) {
    std::string member_path = Join(path, member.key);
    const Field<T>* field = nullptr;
    for (const Field<T>& f : fields) {
      if (f.key == member.key) {
        field = &f;
        break;
      }
    }
    if (field == nullptr) return Error(ctx, member.key_line, member_path, "unknown key");
    if (FindSeen(met, field->key) != nullptr) {
      return Error(ctx, member.key_line, member_path, "duplicate key");
    }
    met.push_back({field->key, member.key_line, member.line});
    if (Status s = Apply(*field, target, member, member_path, ctx); !s.ok()) return s;
  }
  for (const Field<T>& f : fields) {
    if (f.required && FindSeen(met, f.key) == nullptr) {
      return Error(ctx, owner_line, Join(path, f.key), "is required");
    }
  }
  return Status::Ok();
}

// ------------------------------------------------------------- tables

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
constexpr int64_t kMaxDuration = 24 * kHour;

constexpr std::string_view kLogLevelNames[] = {"alert", "error", "warning", "notice", "debug"};
constexpr std::string_view kPoolModeNames[] = {"classic", "worker"};
constexpr std::string_view kProcessManagerNames[] = {"static", "dynamic", "ondemand"};
constexpr std::string_view kLeakCheckNames[] = {"off", "log", "strict"};

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

constexpr Field<PoolConfig> kWorkerFields[] = {
    {.key = "script", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.worker_script = std::move(v.str); },
     .check = AbsolutePath},
    {.key = "max_requests", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.worker.max_requests = static_cast<uint64_t>(v.integer); },
     .min = 0, .max = kMaxInt64},
    {.key = "max_consecutive_failures", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.worker.max_consecutive_failures = static_cast<int>(v.integer); },
     .min = 1, .max = 1000},
    {.key = "memory_recycle", .kind = Kind::kSize,
     .set = [](PoolConfig& p, Value& v) { p.worker.memory_recycle = v.size; },
     .min = 0, .max = static_cast<int64_t>(64) * kGiB},
    {.key = "watch", .kind = Kind::kStringList,
     .set = [](PoolConfig& p, Value& v) { p.worker.watch = std::move(v.list); },
     .check = AbsolutePath},
    {.key = "leak_check", .kind = Kind::kEnum,
     .set = [](PoolConfig& p, Value& v) { p.worker.leak_check = static_cast<PoolConfig::Worker::LeakCheck>(v.integer); },
     .names = kLeakCheckNames},
    {.key = "leak_warmup", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.worker.leak_warmup = static_cast<uint64_t>(v.integer); },
     .min = 0, .max = 1000000},
    {.key = "leak_allow", .kind = Kind::kStringList,
     .set = [](PoolConfig& p, Value& v) { p.worker.leak_allow = std::move(v.list); },
     .check = NonEmpty},
};

const char* ClientEntry(std::string_view s) { return base::ClientFilter::EntryError(s); }

constexpr Field<PoolConfig> kConfineFields[] = {
    {.key = "read", .kind = Kind::kStringList,
     .set = [](PoolConfig& p, Value& v) { p.confine.read = std::move(v.list); },
     .check = AbsolutePath},
    {.key = "write", .kind = Kind::kStringList,
     .set = [](PoolConfig& p, Value& v) { p.confine.write = std::move(v.list); },
     .check = AbsolutePath},
    {.key = "required", .kind = Kind::kBool,
     .set = [](PoolConfig& p, Value& v) { p.confine.required = v.boolean; }},
};

constexpr Field<PoolConfig> kPoolFields[] = {
    {.key = "listen", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.listen = std::move(v.str); },
     .check = NonEmpty, .required = true},
    {.key = "listen_mode", .kind = Kind::kOctalMode,
     .set = [](PoolConfig& p, Value& v) { p.listen_mode = v.mode; },
     .min = 0, .max = 0777},
    {.key = "listen_owner", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.listen_owner = std::move(v.str); }},
    {.key = "listen_group", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.listen_group = std::move(v.str); }},
    {.key = "listen_allowed_clients", .kind = Kind::kStringList,
     .set = [](PoolConfig& p, Value& v) { p.listen_allowed_clients = std::move(v.list); },
     .check = ClientEntry},
    {.key = "listen_acl_users", .kind = Kind::kStringList,
     .set = [](PoolConfig& p, Value& v) { p.listen_acl_users = std::move(v.list); },
     .check = Principal},
    {.key = "listen_acl_groups", .kind = Kind::kStringList,
     .set = [](PoolConfig& p, Value& v) { p.listen_acl_groups = std::move(v.list); },
     .check = Principal},
    {.key = "listen_backlog", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.listen_backlog = static_cast<int>(v.integer); },
     .min = 1, .max = std::numeric_limits<int>::max()},
    {.key = "processes", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.processes = static_cast<int>(v.integer); },
     .min = 1, .max = 256},
    {.key = "threads", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.threads = static_cast<int>(v.integer); },
     .min = 1, .max = 1024},
    {.key = "mode", .kind = Kind::kEnum,
     .set = [](PoolConfig& p, Value& v) { p.mode = static_cast<PoolMode>(v.integer); },
     .names = kPoolModeNames},
    {.key = "worker", .kind = Kind::kMapping, .members = kWorkerFields},
    {.key = "pm", .kind = Kind::kEnum,
     .set = [](PoolConfig& p, Value& v) { p.pm = static_cast<ProcessManager>(v.integer); },
     .names = kProcessManagerNames},
    {.key = "start_threads", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.start_threads = static_cast<int>(v.integer); },
     .min = 1, .max = 1024},
    {.key = "min_spare_threads", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.min_spare_threads = static_cast<int>(v.integer); },
     .min = 1, .max = 1024},
    {.key = "max_spare_threads", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.max_spare_threads = static_cast<int>(v.integer); },
     .min = 1, .max = 1024},
    {.key = "max_spawn_rate", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.max_spawn_rate = static_cast<int>(v.integer); },
     .min = 1, .max = 1024},
    {.key = "idle_timeout", .kind = Kind::kDuration,
     .set = [](PoolConfig& p, Value& v) { p.idle_timeout = v.duration; },
     .min = 10, .max = kMaxDuration},
    {.key = "max_requests", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.max_requests = static_cast<uint64_t>(v.integer); },
     .min = 0, .max = kMaxInt64},
    {.key = "process_max_requests", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.process_max_requests = static_cast<uint64_t>(v.integer); },
     .min = 0, .max = kMaxInt64},
    {.key = "process_memory_limit", .kind = Kind::kSize,
     .set = [](PoolConfig& p, Value& v) { p.process_memory_limit = v.size; },
     .min = 0, .max = static_cast<int64_t>(1024) * kGiB},
    {.key = "memory_recycle", .kind = Kind::kSize,
     .set = [](PoolConfig& p, Value& v) { p.memory_recycle = v.size; },
     .min = 0, .max = static_cast<int64_t>(64) * kGiB},
    {.key = "php_value", .kind = Kind::kKeyValues,
     .set = [](PoolConfig& p, Value& v) { p.php_value = std::move(v.pairs); },
     .check = NonEmpty, .ini_bools = true},
    {.key = "php_admin_value", .kind = Kind::kKeyValues,
     .set = [](PoolConfig& p, Value& v) { p.php_admin_value = std::move(v.pairs); },
     .check = NonEmpty, .ini_bools = true},
    {.key = "env", .kind = Kind::kKeyValues,
     .set = [](PoolConfig& p, Value& v) { p.env = std::move(v.pairs); },
     .check = EnvName},
    {.key = "clear_env", .kind = Kind::kBool,
     .set = [](PoolConfig& p, Value& v) { p.clear_env = v.boolean; }},
    {.key = "limit_extensions", .kind = Kind::kStringList,
     .set = [](PoolConfig& p, Value& v) { p.limit_extensions = std::move(v.list); },
     .check = Extension},
    {.key = "catch_workers_output", .kind = Kind::kBool,
     .set = [](PoolConfig& p, Value& v) { p.catch_workers_output = v.boolean; }},
    {.key = "decorate_workers_output", .kind = Kind::kBool,
     .set = [](PoolConfig& p, Value& v) { p.decorate_workers_output = v.boolean; }},
    {.key = "chdir", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.chdir = std::move(v.str); },
     .check = AbsolutePathIfSet},
    {.key = "user", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.user = std::move(v.str); },
     .check = Principal},
    {.key = "group", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.group = std::move(v.str); },
     .check = Principal},
    {.key = "chroot", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.chroot = std::move(v.str); },
     .check = AbsolutePathIfSet},
    {.key = "rlimit_files", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.rlimit_files = static_cast<uint64_t>(v.integer); },
     .min = 0, .max = 1 << 30},
    {.key = "rlimit_core", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.rlimit_core = RlimitCoreValue(v.str); },
     .check = RlimitCore},
    {.key = "confine", .kind = Kind::kMapping, .members = kConfineFields},
    {.key = "process_dumpable", .kind = Kind::kBool,
     .set = [](PoolConfig& p, Value& v) { p.process_dumpable = v.boolean; }},
    {.key = "process_priority", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.process_priority = static_cast<int>(v.integer); },
     .min = -19, .max = 20},  // php-fpm's range
    {.key = "sapi_name", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.sapi_name = std::move(v.str); },
     .check = SapiName},
    {.key = "thread_stack_size", .kind = Kind::kSize,
     .set = [](PoolConfig& p, Value& v) { p.thread_stack_size = static_cast<size_t>(v.size); },
     .min = 256 * kKiB, .max = kGiB},
    {.key = "failure_threshold", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.failure_threshold = static_cast<int>(v.integer); },
     .min = 0, .max = 1000},
    {.key = "failure_window", .kind = Kind::kDuration,
     .set = [](PoolConfig& p, Value& v) { p.failure_window = v.duration; },
     .min = 100, .max = kMaxDuration},
    {.key = "request_terminate_timeout", .kind = Kind::kDuration,
     .set = [](PoolConfig& p, Value& v) { p.request_terminate_timeout = v.duration; },
     .min = 0, .max = kMaxDuration},
    {.key = "max_wait_time", .kind = Kind::kDuration,
     .set = [](PoolConfig& p, Value& v) { p.max_wait_time = v.duration; },
     .min = 0, .max = kMaxDuration},
    {.key = "request_terminate_timeout_track_finished", .kind = Kind::kBool,
     .set = [](PoolConfig& p, Value& v) { p.request_terminate_timeout_track_finished = v.boolean; }},
    {.key = "request_slowlog_trace_depth", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.request_slowlog_trace_depth = static_cast<int>(v.integer); },
     .min = 1, .max = 1000},
    {.key = "request_slowlog_timeout", .kind = Kind::kDuration,
     .set = [](PoolConfig& p, Value& v) { p.request_slowlog_timeout = v.duration; },
     .min = 0, .max = kMaxDuration},
    {.key = "slowlog", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.slowlog = std::move(v.str); }},
    {.key = "access_log", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.access_log = std::move(v.str); }},
    {.key = "access_format", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.access_format = std::move(v.str); }},
    {.key = "access_suppress_path", .kind = Kind::kStringList,
     .set = [](PoolConfig& p, Value& v) { p.access_suppress_path = std::move(v.list); },
     .check = UriPath},
    {.key = "status_path", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.status_path = std::move(v.str); },
     .check = UriPathIfSet},
    {.key = "ping_path", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.ping_path = std::move(v.str); },
     .check = UriPathIfSet},
    {.key = "ping_response", .kind = Kind::kString,
     .set = [](PoolConfig& p, Value& v) { p.ping_response = std::move(v.str); }},
    {.key = "max_connections", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.max_connections = static_cast<int>(v.integer); },
     .min = 1, .max = 1 << 20},
    {.key = "connection_idle_timeout", .kind = Kind::kDuration,
     .set = [](PoolConfig& p, Value& v) { p.connection_idle_timeout = v.duration; },
     .min = 100, .max = kMaxDuration},
    {.key = "request_header_timeout", .kind = Kind::kDuration,
     .set = [](PoolConfig& p, Value& v) { p.request_header_timeout = v.duration; },
     .min = 100, .max = kMaxDuration},
    {.key = "max_params_size", .kind = Kind::kSize,
     .set = [](PoolConfig& p, Value& v) { p.max_params_size = static_cast<size_t>(v.size); },
     .min = 4 * kKiB, .max = 64 * kMiB},
    {.key = "max_params", .kind = Kind::kInt,
     .set = [](PoolConfig& p, Value& v) { p.max_params = static_cast<int>(v.integer); },
     .min = 16, .max = 10000000},
    {.key = "max_connection_output", .kind = Kind::kSize,
     .set = [](PoolConfig& p, Value& v) { p.max_connection_output = static_cast<size_t>(v.size); },
     .min = 16 * kKiB, .max = kGiB},
};

// ------------------------------------------------------------- pools

// Replaces "$pool" in every scalar value below `node` (not in keys).
void ExpandPoolInValues(Node& node, std::string_view pool) {
  if (node.type == Node::Type::kScalar && node.text.find("$pool") != std::string::npos) {
    node.text = ExpandPoolName(node.text, pool);
  }
  for (Node& child : node.children) ExpandPoolInValues(child, pool);
}

// php-fpm's pm checks (fpm_conf.c), with threads as the unit. Fills the
// defaults of max_spare_threads and start_threads.
Status CheckProcessManager(PoolConfig& pool, const SeenKeys& seen, const std::string& path,
                           const Context& ctx) {
  const Seen* start = FindSeen(seen, "start_threads");
  const Seen* min_spare = FindSeen(seen, "min_spare_threads");
  const Seen* max_spare = FindSeen(seen, "max_spare_threads");
  const Seen* idle = FindSeen(seen, "idle_timeout");
  const Seen* spawn_rate = FindSeen(seen, "max_spawn_rate");
  if (pool.pm != ProcessManager::kDynamic) {
    for (const Seen* s : {start, min_spare, max_spare, spawn_rate}) {
      if (s != nullptr) {
        return Error(ctx, s->key_line, Join(path, s->key), "is only used when pm is dynamic");
      }
    }
    if (pool.pm == ProcessManager::kStatic && idle != nullptr) {
      return Error(ctx, idle->key_line, path + ".idle_timeout", "is only used when pm is dynamic or ondemand");
    }
    return Status::Ok();
  }
  if (max_spare == nullptr) pool.max_spare_threads = pool.threads;
  if (pool.min_spare_threads > pool.threads) {
    return Error(ctx, min_spare->line, path + ".min_spare_threads",
                 "must be <= threads (" + std::to_string(pool.threads) + ")");
  }
  if (pool.max_spare_threads > pool.threads) {
    return Error(ctx, max_spare->line, path + ".max_spare_threads",
                 "must be <= threads (" + std::to_string(pool.threads) + ")");
  }
  if (pool.max_spare_threads < pool.min_spare_threads) {
    const Seen* at = max_spare != nullptr ? max_spare : min_spare;
    return Error(ctx, at->line, Join(path, at->key),
                 "max_spare_threads (" + std::to_string(pool.max_spare_threads) +
                     ") must be >= min_spare_threads (" + std::to_string(pool.min_spare_threads) + ")");
  }
  if (start == nullptr) {
    pool.start_threads = pool.min_spare_threads + (pool.max_spare_threads - pool.min_spare_threads) / 2;
  } else if (pool.start_threads < pool.min_spare_threads || pool.start_threads > pool.max_spare_threads) {
    return Error(ctx, start->line, path + ".start_threads",
                 "must be between min_spare_threads (" + std::to_string(pool.min_spare_threads) +
                     ") and max_spare_threads (" + std::to_string(pool.max_spare_threads) + ")");
  }
  return Status::Ok();
}

// listen_allowed_clients is for TCP sockets, the ACL keys for unix ones;
// an empty list is refused (it would read as "nobody" but mean "anybody").
Status CheckListenAccess(const PoolConfig& pool, const SeenKeys& seen, const std::string& path,
                         const Context& ctx) {
  const bool unix_socket = !pool.listen.empty() && pool.listen.front() == '/';
  struct Rule {
    std::string_view key;
    const std::vector<std::string>* list;
    bool for_unix;
  };
  const Rule rules[] = {{"listen_allowed_clients", &pool.listen_allowed_clients, false},
                        {"listen_acl_users", &pool.listen_acl_users, true},
                        {"listen_acl_groups", &pool.listen_acl_groups, true}};
  for (const Rule& r : rules) {
    const Seen* seen_key = FindSeen(seen, r.key);
    if (seen_key == nullptr) continue;
    const std::string key_path = path + "." + std::string(r.key);
    if (r.list->empty()) {
      return Error(ctx, seen_key->line, key_path, "must not be empty (leave the key out to allow everyone)");
    }
    if (r.for_unix != unix_socket) {
      return Error(ctx, seen_key->key_line, key_path,
                   r.for_unix ? "applies to unix sockets only (listen is a TCP address)"
                              : "applies to TCP sockets only (listen is a unix socket: use listen_mode, "
                                "listen_owner/listen_group or listen_acl_users/listen_acl_groups)");
    }
  }
  if (!pool.listen_acl_users.empty() || !pool.listen_acl_groups.empty()) {
    for (std::string_view key : {"listen_owner", "listen_group"}) {
      if (const Seen* s = FindSeen(seen, key)) {
        return Error(ctx, s->key_line, path + "." + std::string(key),
                     "cannot be combined with listen_acl_users/listen_acl_groups (php-fpm ignores it then)");
      }
    }
  }
  return Status::Ok();
}

// Rules that involve more than one key of a pool.
Status CheckPool(PoolConfig& pool, const SeenKeys& seen, const std::string& path,
                 const Context& ctx) {
  if (Status s = CheckProcessManager(pool, seen, path, ctx); !s.ok()) return s;
  const Seen* worker = FindSeen(seen, "worker");
  const Seen* mode = FindSeen(seen, "mode");
  if (pool.mode == PoolMode::kWorker && pool.worker_script.empty()) {
    int line = worker != nullptr ? worker->key_line : mode->line;
    return Error(ctx, line, path + ".worker.script", "is required when mode is worker");
  }
  if (pool.mode == PoolMode::kClassic && worker != nullptr) {
    return Error(ctx, worker->key_line, path + ".worker", "is only allowed when mode is worker");
  }
  if (pool.request_slowlog_timeout.count() > 0 && pool.slowlog.empty()) {
    const Seen* timeout = FindSeen(seen, "request_slowlog_timeout");
    return Error(ctx, timeout->line, path + ".slowlog",
                 "is required when request_slowlog_timeout is set");
  }
  // php-fpm checks access.format when the config is loaded (a test run
  // of fpm_log_write); so do we, also while access_log is off.
  if (const Seen* format = FindSeen(seen, "access_format")) {
    auto compiled = accesslog::Format::Compile(pool.access_format);
    if (!compiled.ok()) return Error(ctx, format->line, path + ".access_format", compiled.status().message());
  }
  if (const Seen* user = FindSeen(seen, "user")) pool.user_line = user->line;
  if (const Seen* chroot = FindSeen(seen, "chroot")) pool.chroot_line = chroot->line;
  if (const Seen* acl = FindSeen(seen, "listen_acl_users")) pool.acl_users_line = acl->line;
  if (const Seen* acl = FindSeen(seen, "listen_acl_groups")) pool.acl_groups_line = acl->line;
  if (Status s = CheckListenAccess(pool, seen, path, ctx); !s.ok()) return s;
  if (const Seen* confine = FindSeen(seen, "confine")) {
    pool.confine.enabled = true;
    pool.confine.line = confine->key_line;
  }
  if (!pool.group.empty() && pool.user.empty()) {
    return Error(ctx, FindSeen(seen, "group")->key_line, path + ".group", "is only used with user");
  }
  if (const Seen* files = FindSeen(seen, "rlimit_files"); files != nullptr && pool.rlimit_files != 0 &&
                                                          pool.rlimit_files < 16) {
    return Error(ctx, files->line, path + ".rlimit_files", "must be 0 (the daemon's) or >= 16");
  }
  if (!pool.status_path.empty() && pool.status_path == pool.ping_path) {
    return Error(ctx, FindSeen(seen, "ping_path")->line, path + ".ping_path",
                 "must differ from status_path");
  }
  return Status::Ok();
}

Status ParsePools(Config& config, const Node& node, const std::string& path, const Context& ctx) {
  if (node.type != Node::Type::kMapping && node.type != Node::Type::kNull) {
    return Error(ctx, node.line, path, "expected a mapping of pool names to pools");
  }
  if (node.children.empty()) return Error(ctx, node.line, path, "must contain at least one pool");
  std::vector<int> listen_lines;  // parallel to config.pools
  for (const Node& member : node.children) {
    std::string pool_path = Join(path, member.key);
    if (!IsPoolName(member.key)) {
      return Error(ctx, member.key_line, pool_path,
                   "invalid pool name (allowed: A-Z a-z 0-9 _ . -)");
    }
    for (const PoolConfig& other : config.pools) {
      if (other.name == member.key) return Error(ctx, member.key_line, pool_path, "duplicate key");
    }
    PoolConfig pool;
    pool.name = member.key;
    pool.line = member.key_line;
    SeenKeys seen;
    // php-fpm's $pool, in every value of the pool.
    Node expanded = member;
    ExpandPoolInValues(expanded, member.key);
    if (Status s = WalkMapping<PoolConfig>(kPoolFields, pool, expanded, pool_path, member.key_line,
                                           ctx, &seen);
        !s.ok()) {
      return s;
    }
    if (Status s = CheckPool(pool, seen, pool_path, ctx); !s.ok()) return s;
    const int listen_line = FindSeen(seen, "listen")->line;
    for (const PoolConfig& other : config.pools) {
      if (other.listen == pool.listen) {
        return Error(ctx, listen_line, pool_path + ".listen",
                     pool.listen + " is already used by pool " + other.name);
      }
    }
    config.pools.push_back(std::move(pool));
  }
  return Status::Ok();
}

constexpr Field<Config> kRootFields[] = {
    {.key = "daemon", .kind = Kind::kCustom,
     .custom = [](Config& c, const Node& n, const std::string& path, const Context& ctx) {
       return WalkMapping<DaemonConfig>(kDaemonFields, c.daemon, n, path, n.key_line, ctx,
                                        nullptr);
     }},
    {.key = "php", .kind = Kind::kCustom,
     .custom = [](Config& c, const Node& n, const std::string& path, const Context& ctx) {
       return WalkMapping<PhpConfig>(kPhpFields, c.php, n, path, n.key_line, ctx, nullptr);
     }},
    {.key = "pools", .kind = Kind::kCustom, .required = true, .custom = ParsePools},
};

}  // namespace

std::optional<uint64_t> ParseSize(std::string_view text) {
  uint64_t multiplier = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k': case 'K': multiplier = kKiB; break;
      case 'm': case 'M': multiplier = kMiB; break;
      case 'g': case 'G': multiplier = kGiB; break;
      default: break;
    }
    if (multiplier != 1) text.remove_suffix(1);
  }
  return ScaledNumber(text, multiplier, std::numeric_limits<uint64_t>::max());
}

std::optional<milliseconds> ParseDuration(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    uint64_t ms;
  };
  // "ms" before "s" and "m": the first matching suffix wins.
  static constexpr Unit kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
  uint64_t multiplier = 1000;  // plain integer: seconds
  for (const Unit& unit : kUnits) {
    if (text.ends_with(unit.suffix)) {
      multiplier = unit.ms;
      text.remove_suffix(unit.suffix.size());
      break;
    }
  }
  std::optional<uint64_t> ms =
      ScaledNumber(text, multiplier, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  if (!ms) return std::nullopt;
  return milliseconds(static_cast<int64_t>(*ms));
}

Result<Config> BuildConfig(const Node& root, std::string_view source_name) {
  Context ctx{source_name};
  Config config;
  config.source = std::string(source_name);
  if (Status s = WalkMapping<Config>(kRootFields, config, root, "", root.line, ctx, nullptr);
      !s.ok()) {
    return s;
  }
  return config;
}

std::optional<std::string> ExpandEnvironment(std::string_view text,
                                             const char* (*lookup)(const char* name),
                                             std::string* missing) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos) break;
    out.append(text.substr(i, dollar - i));
    if (text.substr(dollar, 3) == "$${") {  // escaped: a literal "${"
      out.append("${");
      i = dollar + 3;
      continue;
    }
    if (text.substr(dollar, 2) != "${") {
      out.push_back('$');
      i = dollar + 1;
      continue;
    }
    const size_t close = text.find('}', dollar + 2);
    if (close == std::string_view::npos) {
      missing->clear();
      return std::nullopt;
    }
    std::string_view inner = text.substr(dollar + 2, close - dollar - 2);
    std::optional<std::string_view> fallback;
    if (size_t sep = inner.find(":-"); sep != std::string_view::npos) {
      fallback = inner.substr(sep + 2);
      inner = inner.substr(0, sep);
    }
    const std::string name(inner);
    const char* value = name.empty() ? nullptr : lookup(name.c_str());
    if (value != nullptr) {
      out.append(value);
    } else if (fallback) {
      out.append(*fallback);
    } else {
      *missing = name;
      return std::nullopt;
    }
    i = close + 1;
  }
  out.append(text.substr(std::min(i, text.size())));
  return out;
}

std::string HideEnvironment(std::string message, std::string_view source,
                            const std::vector<std::pair<std::string, std::string>>& used) {
  size_t start = 0;
  if (message.starts_with(source) && message.size() > source.size() && message[source.size()] == ':') {
    const size_t after = message.find(": ", source.size() + 1);
    start = after == std::string::npos ? message.size() : after + 2;
  }
  // Longest values first: one that contains another is hidden whole.
  std::vector<const std::pair<std::string, std::string>*> order;
  for (const auto& u : used) {
    if (!u.second.empty()) order.push_back(&u);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto* a, const auto* b) { return a->second.size() > b->second.size(); });
  for (const auto* u : order) {
    const std::string hidden = "${" + u->first + "}";
    for (size_t at = message.find(u->second, start); at != std::string::npos;
         at = message.find(u->second, at + hidden.size())) {
      message.replace(at, u->second.size(), hidden);
    }
  }
  return message;
}

std::string ExpandPoolName(std::string_view text, std::string_view pool) {
  std::string out;
  size_t i = 0;
  for (size_t at; (at = text.find("$pool", i)) != std::string_view::npos; i = at + 5) {
    out.append(text.substr(i, at - i));
    out.append(pool);
  }
  out.append(text.substr(i));
  return out;
}

Status ConfigError(std::string_view source, int line, std::string_view path, std::string_view what) {
  std::string msg(source);
  msg += ':';
  msg += std::to_string(line);
  msg += ": ";
  if (!path.empty()) {
    msg += path;
    msg += ": ";
  }
  msg += what;
  return Status::InvalidArgument(std::move(msg));
}

}  // namespace tfpm::config
