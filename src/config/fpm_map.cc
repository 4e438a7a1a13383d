#include "config/fpm_map.h"

#include <algorithm>
#include <limits>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "base/utf8.h"

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
    {"pm.status_listen", Scope::kPool, VK::kString, Fate::kUnsupported, "",
     "no separate status listener yet (the observability issue); the status page answers on the pool's socket"},
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

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// ------------------------------------------------------------ values

// A decimal that fits in an int (php-fpm's atoi() would wrap a larger one).
std::optional<int> ParseIntValue(std::string_view v) {
  errno = 0;
  const std::string s(v);
  char* end = nullptr;
  const long long n = std::strtoll(s.c_str(), &end, 10);
  if (errno == ERANGE || n > INT_MAX || n < INT_MIN) return std::nullopt;
  return static_cast<int>(n);
}

// php-fpm's checks, with its messages; nullptr = acceptable.
const char* CheckInt(std::string_view v) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (i == 0 && v[i] == '-') continue;
    if (v[i] < '0' || v[i] > '9') return "is not a valid number (greater or equal than zero)";
  }
  return ParseIntValue(v) ? nullptr : "is out of range";
}

// Only for values CheckInt accepted (or tfpm.* overrides: 0 when not a number).
int ToInt(std::string_view v) { return ParseIntValue(v).value_or(0); }

// fpm_conf_set_time: seconds.
std::optional<long> ToSeconds(std::string_view v, const char** error) {
  if (v.empty()) {
    *error = "invalid time value";
    return std::nullopt;
  }
  const char suffix = v.back();
  long factor = 1;
  std::string digits(v);
  switch (suffix) {
    case 's': digits.pop_back(); break;
    case 'm': factor = 60; digits.pop_back(); break;
    case 'h': factor = 3600; digits.pop_back(); break;
    case 'd': factor = 86400; digits.pop_back(); break;
    default:
      if (suffix < '0' || suffix > '9') {
        *error = "unknown suffix used in time value";
        return std::nullopt;
      }
  }
  // At most ~68 years of seconds: anything longer is a typo (tfpm's own
  // limits are far lower and say so).
  constexpr long long kMaxSeconds = INT_MAX;
  errno = 0;
  const long long n = std::strtoll(digits.c_str(), nullptr, 10);
  if (errno == ERANGE || n > kMaxSeconds / factor || n < -kMaxSeconds / factor) {
    *error = "is out of range";
    return std::nullopt;
  }
  return static_cast<long>(n * factor);
}

std::optional<bool> ToBool(std::string_view v) {
  if (v == "1" || v == "yes" || v == "true" || v == "on") return true;
  if (v.empty() || v == "0" || v == "no" || v == "none" || v == "false" || v == "off") return false;
  return std::nullopt;
}

const char* CheckValue(ValueKind kind, std::string_view v) {
  switch (kind) {
    case VK::kInt: return CheckInt(v);
    case VK::kTime: {
      const char* error = nullptr;
      return ToSeconds(v, &error) ? nullptr : error;
    }
    case VK::kBool: return ToBool(v) ? nullptr : "invalid boolean value";
    case VK::kLogLevel:
      for (std::string_view l : {"debug", "notice", "warning", "warn", "error", "alert"}) {
        if (EqualsNoCase(v, l)) return nullptr;
      }
      return "invalid value for 'log_level'";
    case VK::kPm:
      for (std::string_view l : {"static", "dynamic", "ondemand"}) {
        if (EqualsNoCase(v, l)) return nullptr;
      }
      return "invalid process manager (static, dynamic or ondemand)";
    case VK::kRlimitCore:
      if (EqualsNoCase(v, "unlimited")) return nullptr;
      if (const char* e = CheckInt(v)) return e;
      return ToInt(v) < 0 ? "must be greater than zero or 'unlimited'" : nullptr;
    default: return nullptr;
  }
}

// rlimit_core's value as tfpm's YAML takes it: "unlimited" or bytes.
std::string RlimitCore(std::string_view v) {
  return EqualsNoCase(v, "unlimited") ? "unlimited" : std::to_string(ToInt(v));
}

std::string ExpandPool(std::string_view v, std::string_view pool) {
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    if (v.compare(i, 5, "$pool") == 0) {
      out += pool;
      i += 5;
    } else {
      out += v[i++];
    }
  }
  return out;
}

// --------------------------------------------------------------- YAML

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '$':
        // The YAML loader expands ${VAR}; php-fpm's file was expanded already.
        out += (i + 1 < s.size() && s[i + 1] == '{') ? "$$" : "$";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string Seconds(long s) { return std::to_string(s) + "s"; }

// One key of the output, with where it came from.
struct Item {
  std::string key;
  std::string scalar;  // YAML scalar text (already quoted when a string)
  std::vector<std::pair<std::string, std::string>> map;  // key -> value (strings), when is_map
  std::vector<std::string> list;                         // strings, when is_list
  bool is_map = false, is_list = false;
  Location at;
  std::string comment;  // trailing comment
};

struct Section {
  std::vector<std::pair<std::string, Location>> notes;  // comment lines before the items, and their place
  std::vector<Item> items;
};

// --------------------------------------------------------------- state

struct Seen {
  std::string value;
  Location at;
};

struct PoolState {
  std::string name;
  Location at;
  std::map<std::string, Seen> values;  // last value of each scalar directive
  // arrays in file order: (directive, key) -> value
  std::vector<std::pair<std::string, Entry>> arrays;
  std::vector<Entry> passthrough;  // tfpm.X
};

class Importer {
 public:
  Importer(const Document& doc, const ImportOptions& o) : doc_(doc), o_(o) {}

  Result<Imported> Run() {
    std::map<std::string, Seen> global;
    std::vector<Entry> global_passthrough;
    for (const Entry& e : doc_.global) {
      if (Status st = Take(Scope::kGlobal, e, "", &global, nullptr, &global_passthrough); !st.ok()) return st;
    }
    std::vector<PoolState> pools;
    for (const Pool& p : doc_.pools) {
      PoolState ps;
      ps.name = p.name;
      ps.at = p.at;
      for (const Entry& e : p.entries) {
        if (Status st = Take(Scope::kPool, e, p.name, &ps.values, &ps.arrays, &ps.passthrough); !st.ok()) {
          return st;
        }
      }
      pools.push_back(std::move(ps));
    }
    if (pools.empty()) {
      return Status::InvalidArgument("[" + doc_.main_file + "] at least one pool section must be specified in config file");
    }
    Section daemon, php;
    if (Status st = Global(global, global_passthrough, &daemon, &php); !st.ok()) return st;
    std::vector<std::pair<std::string, Section>> out_pools;
    std::map<std::string, std::string> listens;
    for (PoolState& ps : pools) {
      Section s;
      if (Status st = PoolOut(ps, &s); !st.ok()) return st;
      for (const Item& i : s.items) {
        if (i.key != "listen") continue;
        if (auto it = listens.find(i.scalar); it != listens.end()) {
          return Status::InvalidArgument(Where(i.at) + " [pool " + ps.name +
                                         "] unable to set listen address as it's already used in another pool '" +
                                         it->second + "'");
        }
        listens[i.scalar] = ps.name;
      }
      out_pools.emplace_back(ps.name, std::move(s));
    }
    Emit(daemon, php, out_pools);
    result_.warnings = doc_.warnings;
    return std::move(result_);
  }

 private:
  Status Fail(const Location& at, std::string what) {
    return Status::InvalidArgument(Where(at) + " " + what);
  }

  void AddNote(const Location& at, std::string_view directive, std::string_view value, std::string_view what,
               Section* section) {
    std::string text = Where(at) + " " + std::string(directive) + " = " + std::string(value) + ": " +
                       std::string(what);
    result_.notes.push_back(Note{at, std::string(directive), text});
    section->notes.emplace_back(text, at);
  }

  Status Take(Scope scope, const Entry& e, const std::string& pool, std::map<std::string, Seen>* values,
              std::vector<std::pair<std::string, Entry>>* arrays, std::vector<Entry>* passthrough) {
    if (e.array) {
      if (scope == Scope::kGlobal) return Fail(e.at, "Array are not allowed in the global section");
      const std::string row = e.name + "[]";
      if (FindRule(Scope::kPool, row) == nullptr) return Fail(e.at, "unknown directive '" + e.name + "'");
      if (e.name == "access.suppress_path") {
        if (!e.key.empty()) return Fail(e.at, "Keys provided to field 'access.suppress_path' are ignored");
        if (e.value.empty() || e.value.front() != '/') {
          return Fail(e.at, "Values provided to field 'access.suppress_path' must begin with '/'");
        }
      } else if (e.key.empty()) {
        return Fail(e.at, "You must provide a key for field '" + e.name + "'");
      }
      if (e.name == "env" && e.value.empty()) return Fail(e.at, "empty value");
      Entry copy = e;
      if (e.name == "php_flag" || e.name == "php_admin_flag") {
        auto b = ToBool(e.value);
        if (!b) {
          return Fail(e.at, "error while parsing '" + e.name + "[" + e.key + "]' : invalid boolean value");
        }
        copy.value = *b ? "1" : "0";
      } else {
        copy.value = ExpandPool(e.value, pool);
      }
      arrays->emplace_back(e.name, std::move(copy));
      return Status::Ok();
    }
    if (e.name.rfind("tfpm.", 0) == 0 && e.name.size() > 5) {
      Entry copy = e;
      copy.value = ExpandPool(e.value, pool);
      passthrough->push_back(std::move(copy));
      return Status::Ok();
    }
    const Rule* rule = nullptr;
    for (const Rule& r : kRules) {
      if (r.scope == scope && r.kind != VK::kArray && EqualsNoCase(r.directive, e.name)) rule = &r;
    }
    if (rule == nullptr) return Fail(e.at, "unknown entry '" + e.name + "'");
    std::string value = e.value;
    if (rule->kind == VK::kString && value.find("$pool") != std::string::npos) {
      if (scope == Scope::kGlobal) {
        return Fail(e.at, "unable to parse value for entry '" + std::string(rule->directive) +
                              "': Can't use '$pool' when the pool is not defined");
      }
      value = ExpandPool(value, pool);
    }
    if (const char* why = CheckValue(rule->kind, value)) {
      return Fail(e.at, "unable to parse value for entry '" + std::string(rule->directive) + "': " + why);
    }
    (*values)[std::string(rule->directive)] = Seen{value, e.at};
    return Status::Ok();
  }

  // Unconditional notes for rows that are not honoured.
  void TableNotes(Scope scope, const std::map<std::string, Seen>& values, Section* s,
                  const std::vector<std::string_view>& handled) {
    for (const auto& [name, seen] : values) {
      if (std::find(handled.begin(), handled.end(), name) != handled.end()) continue;
      const Rule* r = FindRule(scope, name);
      if (r == nullptr) continue;
      if (r->fate == Fate::kUnsupported) AddNote(seen.at, name, seen.value, "not supported: " + std::string(r->reason), s);
      if (r->fate == Fate::kNotYet) AddNote(seen.at, name, seen.value, "not yet supported: " + std::string(r->reason), s);
      if (r->fate == Fate::kIgnored) AddNote(seen.at, name, seen.value, "ignored: " + std::string(r->reason), s);
    }
  }

  std::string Resolve(const std::string& path, const std::string& pool_prefix, std::string_view fallback) const {
    if (path.empty() || path.front() == '/') return path;
    std::string prefix = !pool_prefix.empty() ? pool_prefix
                         : !o_.prefix.empty() ? o_.prefix
                                              : std::string(fallback);
    return prefix + "/" + path;
  }

  static const Seen* Get(const std::map<std::string, Seen>& v, std::string_view name) {
    auto it = v.find(std::string(name));
    return it == v.end() ? nullptr : &it->second;
  }

  static Item Scalar(std::string key, std::string scalar, const Location& at, std::string comment = "") {
    Item i;
    i.key = std::move(key);
    i.scalar = std::move(scalar);
    i.at = at;
    i.comment = std::move(comment);
    return i;
  }

  Status Global(const std::map<std::string, Seen>& g, const std::vector<Entry>& passthrough, Section* d,
                Section* php) {
    const Location main{doc_.main_file, 0};
    std::vector<std::string_view> handled;
    if (const Seen* v = Get(g, "error_log")) {
      if (EqualsNoCase(v->value, "syslog")) {
        AddNote(v->at, "error_log", v->value, "not supported: tfpm logs to stderr instead (journald under systemd)", d);
        d->items.push_back(Scalar("error_log", Quote("stderr"), v->at, "php-fpm: error_log = syslog"));
        for (std::string_view k : {"syslog.ident", "syslog.facility"}) {
          if (const Seen* s = Get(g, k)) AddNote(s->at, k, s->value, "not supported: tfpm does not log to syslog", d);
        }
      } else {
        d->items.push_back(Scalar("error_log", Quote(Resolve(v->value, "", "/var")), v->at));
        for (std::string_view k : {"syslog.ident", "syslog.facility"}) {
          if (const Seen* s = Get(g, k)) AddNote(s->at, k, s->value, "ignored: error_log is not syslog", d);
        }
      }
    } else {
      d->items.push_back(Scalar("error_log", Quote(Resolve("log/php-fpm.log", "", "/var")), main,
                                "php-fpm's default"));
      for (std::string_view k : {"syslog.ident", "syslog.facility"}) {
        if (const Seen* s = Get(g, k)) AddNote(s->at, k, s->value, "ignored: error_log is not syslog", d);
      }
    }
    handled.insert(handled.end(), {"error_log", "syslog.ident", "syslog.facility"});
    if (const Seen* v = Get(g, "log_level")) {
      std::string l = v->value;
      for (char& c : l) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      if (l == "warn") l = "warning";
      d->items.push_back(Scalar("log_level", l, v->at));
    }
    if (!o_.pid_file.empty()) {
      d->items.push_back(Scalar("pid_file", Quote(o_.pid_file), main, "-g"));
    } else if (const Seen* v = Get(g, "pid")) {
      d->items.push_back(Scalar("pid_file", Quote(Resolve(v->value, "", "/var")), v->at));
    }
    if (!o_.control_socket.empty()) {
      d->items.push_back(Scalar("control_socket", Quote(o_.control_socket), main));
    }
    if (const Seen* v = Get(g, "log_limit")) d->items.push_back(Scalar("log_limit", v->value, v->at));
    if (const Seen* v = Get(g, "emergency_restart_threshold")) {
      d->items.push_back(Scalar("emergency_restart_threshold", std::to_string(ToInt(v->value)), v->at));
    }
    const char* unused = nullptr;
    if (const Seen* v = Get(g, "emergency_restart_interval")) {
      d->items.push_back(Scalar("emergency_restart_interval", Seconds(*ToSeconds(v->value, &unused)), v->at));
    }
    if (const Seen* v = Get(g, "process_control_timeout")) {
      d->items.push_back(Scalar("process_control_timeout", Seconds(*ToSeconds(v->value, &unused)), v->at));
    } else {
      d->items.push_back(Scalar("process_control_timeout", "0", main, "php-fpm's default: no limit"));
    }
    if (const Seen* v = Get(g, "daemonize")) result_.daemonize = *ToBool(v->value);
    // php-fpm's 0 is "unset" for these.
    if (const Seen* v = Get(g, "rlimit_files"); v != nullptr && ToInt(v->value) > 0) {
      d->items.push_back(Scalar("rlimit_files", std::to_string(ToInt(v->value)), v->at));
    }
    if (const Seen* v = Get(g, "rlimit_core"); v != nullptr && v->value != "0") {
      d->items.push_back(Scalar("rlimit_core", RlimitCore(v->value), v->at));
    }
    if (const Seen* v = Get(g, "process.max"); v != nullptr && ToInt(v->value) > 0) {
      d->items.push_back(Scalar("process_max", std::to_string(ToInt(v->value)), v->at));
    }
    handled.insert(handled.end(), {"log_level", "pid", "log_limit", "emergency_restart_threshold",
                                   "emergency_restart_interval", "process_control_timeout", "daemonize",
                                   "rlimit_files", "rlimit_core", "process.max"});
    TableNotes(Scope::kGlobal, g, d, handled);
    for (const Entry& e : passthrough) {
      // The YAML loader types and checks it (its errors point back here).
      d->items.push_back(Scalar(e.name.substr(5), Quote(e.value), e.at, "tfpm's own key"));
      d->items.back().scalar = PlainIfSafe(e.value);
    }
    // No php.ini found (or -n): PHP's built-in defaults, as php-fpm would
    // run, not tfpm's own php.ini.
    php->items.push_back(o_.php_ini.empty() ? Scalar("ini_file", "\"\"", main, "no php.ini, as php-fpm")
                                            : Scalar("ini_file", Quote(o_.php_ini), main, "php.ini"));
    if (!o_.scan_dir.empty()) php->items.push_back(Scalar("scan_dir", Quote(o_.scan_dir), main, "conf.d"));
    // Debian's php.ini and conf.d name PHP 8.2's extension files.
    php->items.push_back(Scalar("extensions_by_name", "true", main, "extension= lines name extensions of tfpm's PHP"));
    if (!o_.php_defines.empty()) {
      Item i;
      i.key = "ini";
      i.is_map = true;
      i.at = main;
      i.comment = "-d";
      for (const auto& [k, v] : o_.php_defines) i.map.emplace_back(k, v);
      php->items.push_back(std::move(i));
    }
    return Status::Ok();
  }

  // tfpm.X values are typed by the YAML loader: numbers, booleans and
  // durations stay plain; anything else is quoted.
  static std::string PlainIfSafe(const std::string& v) {
    if (v.empty()) return "\"\"";
    for (char c : v) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-' || c == '/';
      if (!ok) return Quote(v);
    }
    return v;
  }

  // php-fpm's comma-separated lists, items trimmed, empty ones dropped.
  static Item CommaList(std::string key, const Seen& seen) {
    Item i;
    i.key = std::move(key);
    i.is_list = true;
    i.at = seen.at;
    size_t p = 0;
    const std::string& text = seen.value;
    while (p <= text.size()) {
      size_t q = text.find(',', p);
      if (q == std::string::npos) q = text.size();
      size_t b = p, e = q;
      while (b < e && (text[b] == ' ' || text[b] == '\t')) ++b;
      while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t')) --e;
      if (e > b) i.list.push_back(text.substr(b, e - b));
      p = q + 1;
    }
    return i;
  }

  // listen.owner/group, listen.acl_users/groups (unix sockets; with ACLs
  // the owner and group are left alone, as php-fpm) and
  // listen.allowed_clients (TCP only, as php-fpm).
  void ListenAccess(const std::map<std::string, Seen>& v, bool unix_socket, Section* s) {
    const Seen* acl_users = Get(v, "listen.acl_users");
    const Seen* acl_groups = Get(v, "listen.acl_groups");
    const Seen* clients = Get(v, "listen.allowed_clients");
    bool acl = false;
    for (const auto& [directive, key, seen] : {std::tuple{"listen.acl_users", "listen_acl_users", acl_users},
                                               std::tuple{"listen.acl_groups", "listen_acl_groups", acl_groups}}) {
      if (seen == nullptr) continue;
      Item i = CommaList(key, *seen);
      if (!unix_socket) {
        AddNote(seen->at, directive, seen->value, "ignored: listen is not a unix socket (as php-fpm)", s);
      } else if (!i.list.empty()) {
        acl = true;
        s->items.push_back(std::move(i));
      }
    }
    for (const auto& [directive, key] : {std::pair{"listen.owner", "listen_owner"},
                                         std::pair{"listen.group", "listen_group"}}) {
      const Seen* m = Get(v, directive);
      if (m == nullptr) continue;
      if (acl) {
        AddNote(m->at, directive, m->value, "ignored: listen.acl_users/acl_groups are set (as php-fpm)", s);
      } else {
        s->items.push_back(Scalar(key, Quote(m->value), m->at));
      }
    }
    if (clients != nullptr) {
      Item i = CommaList("listen_allowed_clients", *clients);
      if (unix_socket) {
        AddNote(clients->at, "listen.allowed_clients", clients->value,
                "ignored: listen is a unix socket (as php-fpm)", s);
      } else if (!i.list.empty()) {
        s->items.push_back(std::move(i));
      }
    }
  }

  Status PoolOut(PoolState& ps, Section* s) {
    const auto& v = ps.values;
    const Location& at = ps.at;
    const std::string pool_tag = "[pool " + ps.name + "] ";
    std::vector<std::string_view> handled;
    std::string prefix;
    if (const Seen* p = Get(v, "prefix")) prefix = Resolve(p->value, "", "/usr");
    handled.push_back("prefix");

    // Who runs PHP.
    for (std::string_view k : {"user", "group"}) {
      const Seen* u = Get(v, k);
      if (u == nullptr) continue;
      handled.push_back(k);
      if (!o_.for_file && !o_.running_as_root) {
        AddNote(u->at, k, u->value, "ignored: tfpm is not running as root (as php-fpm)", s);
        continue;
      }
      if (k == "group" && Get(v, "user") == nullptr) {
        AddNote(u->at, k, u->value, "ignored: tfpm takes a group only with a user", s);
        continue;
      }
      // tfpm checks that it exists (and, as root without -R, that the pool
      // has one and it is not root) when it loads the YAML.
      s->items.push_back(Scalar(std::string(k), Quote(u->value), u->at));
    }

    const Seen* listen = Get(v, "listen");
    if (listen == nullptr || listen->value.empty()) {
      return Fail(at, pool_tag + "no listen address have been defined!");
    }
    std::string address = listen->value;
    const bool unix_socket = address.find(':') == std::string::npos &&
                             address.find_first_not_of("0123456789") != std::string::npos;
    if (unix_socket) address = Resolve(address, prefix, "/usr");
    s->items.push_back(Scalar("listen", Quote(address), listen->at));
    if (const Seen* b = Get(v, "listen.backlog"); b != nullptr && ToInt(b->value) > 0) {
      s->items.push_back(Scalar("listen_backlog", std::to_string(ToInt(b->value)), b->at));
    }
    if (const Seen* m = Get(v, "listen.mode")) s->items.push_back(Scalar("listen_mode", Quote(m->value), m->at));
    ListenAccess(v, unix_socket, s);
    handled.insert(handled.end(), {"listen", "listen.backlog", "listen.mode", "listen.owner", "listen.group",
                                   "listen.allowed_clients", "listen.acl_users", "listen.acl_groups"});

    // pm
    const Seen* pm = Get(v, "pm");
    if (pm == nullptr) return Fail(at, pool_tag + "the process manager is missing (static, dynamic or ondemand)");
    std::string pm_name = pm->value;
    for (char& c : pm_name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    const Seen* mc = Get(v, "pm.max_children");
    const int children = mc == nullptr ? 0 : ToInt(mc->value);
    if (children < 1) return Fail(mc ? mc->at : at, pool_tag + "pm.max_children must be a positive value");
    int want_processes = 0, want_threads = 0;
    const Entry* override_processes = nullptr;
    const Entry* override_threads = nullptr;
    for (const Entry& e : ps.passthrough) {
      if (e.name == "tfpm.processes") override_processes = &e;
      if (e.name == "tfpm.threads") override_threads = &e;
    }
    if (override_processes) want_processes = std::max(0, ToInt(override_processes->value));
    if (override_threads) want_threads = std::max(0, ToInt(override_threads->value));
    const Split split = SplitChildren(children, want_processes, want_threads);
    s->items.push_back(Scalar("pm", pm_name, pm->at));
    // An override is written as given, so tfpm's own checks judge it.
    if (override_processes) {
      s->items.push_back(Scalar("processes", PlainIfSafe(override_processes->value), override_processes->at,
                                "tfpm.processes"));
    } else {
      s->items.push_back(Scalar("processes", std::to_string(split.processes), mc->at,
                                "pm.max_children = " + std::to_string(children)));
    }
    if (override_threads) {
      s->items.push_back(Scalar("threads", PlainIfSafe(override_threads->value), override_threads->at,
                                "tfpm.threads"));
    } else {
      s->items.push_back(Scalar("threads", std::to_string(split.threads), mc->at));
    }
    const int64_t total = static_cast<int64_t>(split.processes) * split.threads;
    if (total != children) {
      AddNote(mc->at, "pm.max_children", mc->value,
              "changed: " + std::to_string(split.processes) + " process(es) x " + std::to_string(split.threads) +
                  " threads = " + std::to_string(total) + " PHP threads",
              s);
    }
    handled.insert(handled.end(), {"pm", "pm.max_children"});
    auto per_process = [&](int n) {
      return static_cast<int>((static_cast<int64_t>(n) + split.processes - 1) / split.processes);
    };
    if (pm_name == "dynamic") {
      const Seen* mins = Get(v, "pm.min_spare_servers");
      const Seen* maxs = Get(v, "pm.max_spare_servers");
      const Seen* start = Get(v, "pm.start_servers");
      const int min_spare = mins ? ToInt(mins->value) : 0;
      const int max_spare = maxs ? ToInt(maxs->value) : 0;
      if (min_spare <= 0) {
        return Fail(mins ? mins->at : at, pool_tag + "pm.min_spare_servers(" + std::to_string(min_spare) +
                                               ") must be a positive value");
      }
      if (max_spare <= 0) {
        return Fail(maxs ? maxs->at : at, pool_tag + "pm.max_spare_servers(" + std::to_string(max_spare) +
                                               ") must be a positive value");
      }
      if (min_spare > children || max_spare > children) {
        return Fail(maxs->at, pool_tag + "pm.min_spare_servers(" + std::to_string(min_spare) +
                                  ") and pm.max_spare_servers(" + std::to_string(max_spare) +
                                  ") cannot be greater than pm.max_children(" + std::to_string(children) + ")");
      }
      if (max_spare < min_spare) {
        return Fail(maxs->at, pool_tag + "pm.max_spare_servers(" + std::to_string(max_spare) +
                                  ") must not be less than pm.min_spare_servers(" + std::to_string(min_spare) + ")");
      }
      int start_n = start ? ToInt(start->value) : 0;
      if (start_n <= 0) {
        start_n = min_spare + (max_spare - min_spare) / 2;
      } else if (start_n < min_spare || start_n > max_spare) {
        return Fail(start->at, pool_tag + "pm.start_servers(" + std::to_string(start_n) +
                                   ") must not be less than pm.min_spare_servers(" + std::to_string(min_spare) +
                                   ") and not greater than pm.max_spare_servers(" + std::to_string(max_spare) + ")");
      }
      const int t_min = std::clamp(per_process(min_spare), 1, split.threads);
      const int t_max = std::clamp(per_process(max_spare), t_min, split.threads);
      const int t_start = std::clamp(per_process(start_n), t_min, t_max);
      s->items.push_back(Scalar("min_spare_threads", std::to_string(t_min), mins->at));
      s->items.push_back(Scalar("max_spare_threads", std::to_string(t_max), maxs->at));
      s->items.push_back(Scalar("start_threads", std::to_string(t_start), start ? start->at : at));
      if (const Seen* rate = Get(v, "pm.max_spawn_rate")) {
        const int n = ToInt(rate->value);
        if (n < 1) return Fail(rate->at, pool_tag + "pm.max_spawn_rate must be a positive value");
        s->items.push_back(Scalar("max_spawn_rate", std::to_string(std::min(per_process(n), 1024)), rate->at));
      }
      if (const Seen* it = Get(v, "pm.process_idle_timeout")) {
        s->items.push_back(Scalar("idle_timeout", Seconds(std::max(1L, *ToSeconds(it->value, &unused_))), it->at));
      }
    } else {
      for (std::string_view k : {"pm.start_servers", "pm.min_spare_servers", "pm.max_spare_servers",
                                 "pm.max_spawn_rate"}) {
        if (const Seen* x = Get(v, k)) AddNote(x->at, k, x->value, "ignored: only used with pm = dynamic", s);
      }
      if (pm_name == "ondemand") {
        const Seen* it = Get(v, "pm.process_idle_timeout");
        const long secs = it ? *ToSeconds(it->value, &unused_) : 10;
        if (secs < 1) {
          return Fail(it->at, pool_tag + "pm.process_idle_timeout(" + std::to_string(secs) + "s) must be greater than 0s");
        }
        s->items.push_back(Scalar("idle_timeout", Seconds(secs), it ? it->at : at));
      } else if (const Seen* it = Get(v, "pm.process_idle_timeout")) {
        AddNote(it->at, "pm.process_idle_timeout", it->value, "ignored: only used with pm = ondemand or dynamic", s);
      }
    }
    handled.insert(handled.end(), {"pm.start_servers", "pm.min_spare_servers", "pm.max_spare_servers",
                                   "pm.max_spawn_rate", "pm.process_idle_timeout"});
    // php-fpm replaces a child (one PHP interpreter, one process) after N
    // requests: its interpreter state and whatever leaked outside the Zend
    // heap go with it. Here a process holds `threads` interpreters: each
    // thread's interpreter is replaced after N (max_requests), and the
    // process after N x threads (process_max_requests), as many as its
    // threads would have served as that many php-fpm children.
    if (const Seen* r = Get(v, "pm.max_requests"); r != nullptr && ToInt(r->value) > 0) {
      const int64_t n = ToInt(r->value);
      const int64_t per_process =
          n > std::numeric_limits<int64_t>::max() / split.threads ? std::numeric_limits<int64_t>::max()
                                                                  : n * split.threads;
      s->items.push_back(Scalar("max_requests", std::to_string(n), r->at));
      s->items.push_back(Scalar("process_max_requests", std::to_string(per_process), r->at));
      if (split.threads > 1) {
        AddNote(r->at, "pm.max_requests", r->value,
                "changed: a process is replaced after " + std::to_string(per_process) + " requests (" +
                    std::to_string(n) + " x " + std::to_string(split.threads) +
                    " threads, process_max_requests), each thread's interpreter after " + std::to_string(n) +
                    " (max_requests)",
                s);
      }
    }
    handled.push_back("pm.max_requests");

    // Paths and pages.
    auto string_key = [&](std::string_view directive, const char* key, bool path) {
      handled.push_back(directive);
      const Seen* x = Get(v, directive);
      if (x == nullptr || x->value.empty()) return;
      s->items.push_back(Scalar(key, Quote(path ? Resolve(x->value, prefix, "/usr") : x->value), x->at));
    };
    string_key("pm.status_path", "status_path", false);
    string_key("ping.path", "ping_path", false);
    if (Get(v, "ping.path") != nullptr) string_key("ping.response", "ping_response", false);
    handled.push_back("ping.response");
    string_key("access.log", "access_log", true);
    string_key("access.format", "access_format", false);
    string_key("slowlog", "slowlog", true);
    string_key("chdir", "chdir", true);
    string_key("chroot", "chroot", true);
    // Isolation: php-fpm's 0 is "unset" for the limits.
    handled.insert(handled.end(), {"rlimit_files", "rlimit_core", "process.dumpable", "process.priority"});
    if (const Seen* x = Get(v, "rlimit_files"); x != nullptr && ToInt(x->value) > 0) {
      s->items.push_back(Scalar("rlimit_files", std::to_string(ToInt(x->value)), x->at));
    }
    if (const Seen* x = Get(v, "rlimit_core"); x != nullptr && x->value != "0") {
      s->items.push_back(Scalar("rlimit_core", RlimitCore(x->value), x->at));
    }
    if (const Seen* x = Get(v, "process.dumpable")) {
      s->items.push_back(Scalar("process_dumpable", *ToBool(x->value) ? "true" : "false", x->at));
    }
    if (const Seen* x = Get(v, "process.priority")) {
      s->items.push_back(Scalar("process_priority", std::to_string(ToInt(x->value)), x->at));
    }
    auto time_key = [&](std::string_view directive, const char* key) {
      handled.push_back(directive);
      const Seen* x = Get(v, directive);
      if (x == nullptr) return;
      const long secs = *ToSeconds(x->value, &unused_);
      if (secs > 0) s->items.push_back(Scalar(key, Seconds(secs), x->at));
    };
    time_key("request_terminate_timeout", "request_terminate_timeout");
    time_key("request_slowlog_timeout", "request_slowlog_timeout");
    if (const Seen* x = Get(v, "request_slowlog_trace_depth")) {
      s->items.push_back(Scalar("request_slowlog_trace_depth", std::to_string(ToInt(x->value)), x->at));
    }
    handled.push_back("request_slowlog_trace_depth");
    for (std::string_view k : {"request_terminate_timeout_track_finished", "catch_workers_output",
                               "decorate_workers_output", "clear_env"}) {
      handled.push_back(k);
      if (const Seen* x = Get(v, k)) {
        s->items.push_back(Scalar(std::string(k), *ToBool(x->value) ? "true" : "false", x->at));
      }
    }
    {
      handled.push_back("security.limit_extensions");
      const Seen* x = Get(v, "security.limit_extensions");
      Item i;
      i.key = "limit_extensions";
      i.is_list = true;
      i.at = x ? x->at : at;
      std::string text = x ? x->value : ".php .phar";
      if (!x) i.comment = "php-fpm's default";
      size_t p = 0;
      while (p < text.size()) {
        while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
        size_t q = p;
        while (q < text.size() && text[q] != ' ' && text[q] != '\t') ++q;
        if (q > p) i.list.push_back(text.substr(p, q - p));
        p = q;
      }
      s->items.push_back(std::move(i));
    }

    // Arrays, in file order; a key given twice keeps its last value.
    auto array_key = [&](std::initializer_list<std::string_view> names, const char* key) {
      Item i;
      i.key = key;
      i.is_map = true;
      for (const auto& [name, e] : ps.arrays) {
        if (std::find(names.begin(), names.end(), name) == names.end()) continue;
        std::string value = e.value;
        if ((std::string_view(key) != "env") && (e.key == "error_log" || e.key == "extension_dir") &&
            value != "syslog") {
          value = Resolve(value, prefix, "/usr");
        }
        bool replaced = false;
        for (auto& kv : i.map) {
          if (kv.first == e.key) {
            kv.second = value;
            replaced = true;
          }
        }
        if (!replaced) i.map.emplace_back(e.key, value);
        if (i.at.line == 0) i.at = e.at;
      }
      if (!i.map.empty()) s->items.push_back(std::move(i));
    };
    array_key({"php_value", "php_flag"}, "php_value");
    array_key({"php_admin_value", "php_admin_flag"}, "php_admin_value");
    array_key({"env"}, "env");
    {
      Item i;
      i.key = "access_suppress_path";
      i.is_list = true;
      for (const auto& [name, e] : ps.arrays) {
        if (name != "access.suppress_path") continue;
        i.list.push_back(e.value);
        if (i.at.line == 0) i.at = e.at;
      }
      if (!i.list.empty()) s->items.push_back(std::move(i));
    }

    TableNotes(Scope::kPool, v, s, handled);
    for (const Entry& e : ps.passthrough) {
      const std::string key = e.name.substr(5);
      if (key == "processes" || key == "threads") continue;  // used by the split above
      s->items.push_back(Scalar(key, PlainIfSafe(e.value), e.at, "tfpm's own key"));
    }
    return Status::Ok();
  }

  void Line(const std::string& text, const Location& at) {
    result_.yaml += text;
    result_.yaml += '\n';
    result_.yaml_lines.push_back(at);
  }

  // The php-fpm file's own comments above the line at `at`, once, as YAML
  // comments (control characters and bytes that are not UTF-8 replaced).
  void Comments(const Location& at, const std::string& indent) {
    if (at.line <= 0) return;
    for (size_t b = 0; b < doc_.comments.size(); ++b) {
      const CommentBlock& block = doc_.comments[b];
      if (block.at.line != at.line || block.at.file != at.file || used_comments_.count(b) != 0) continue;
      used_comments_.insert(b);
      for (const std::string& text : block.lines) {
        std::string clean = base::ValidUtf8(text);
        for (char& c : clean) {
          if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) c = '?';
        }
        while (!clean.empty() && (clean.back() == ' ' || clean.back() == '\t')) clean.pop_back();
        Line(indent + "#" + clean, {});
      }
    }
  }

  void EmitItems(const Section& s, const std::string& indent) {
    for (const auto& [n, at] : s.notes) {
      // The comments above a directive that became no key go with its note.
      const bool has_key = std::any_of(s.items.begin(), s.items.end(), [&at = at](const Item& i) {
        return i.at.line == at.line && i.at.file == at.file;
      });
      if (!has_key) Comments(at, indent);
      Line(indent + "# " + n, {});
    }
    for (const Item& i : s.items) {
      Comments(i.at, indent);
      std::string comment;
      if (i.at.line > 0) comment = "  # " + i.at.file + ":" + std::to_string(i.at.line);
      if (!i.comment.empty()) comment += (comment.empty() ? "  # " : ", ") + i.comment;
      if (i.is_map) {
        Line(indent + i.key + ":" + comment, i.at);
        for (const auto& [k, val] : i.map) Line(indent + "  " + Quote(k) + ": " + Quote(val), i.at);
      } else if (i.is_list) {
        std::string items;
        for (const std::string& x : i.list) items += (items.empty() ? "" : ", ") + Quote(x);
        Line(indent + i.key + ": [" + items + "]" + comment, i.at);
      } else {
        Line(indent + i.key + ": " + i.scalar + comment, i.at);
      }
    }
  }

  void Emit(const Section& daemon, const Section& php, const std::vector<std::pair<std::string, Section>>& pools) {
    Line("# tfpm configuration imported from php-fpm's " + doc_.main_file, {});
    Line("# (tfpm --fpm-config runs the same; pm-ctl import-fpm writes this file).", {});
    Line("# Comments name the php-fpm file and line of each key; lines starting", {});
    Line("# with '# [' are directives tfpm does not honour as php-fpm does.", {});
    Comments(doc_.global_at, "");
    Line("daemon:", {});
    EmitItems(daemon, "  ");
    if (!php.items.empty()) {
      Line("php:", {});
      EmitItems(php, "  ");
    }
    Line("pools:", {});
    for (const auto& [name, s] : pools) {
      Location at;
      for (const Pool& p : doc_.pools) {
        if (p.name == name) at = p.at;
      }
      Comments(at, "  ");
      Line("  " + Quote(name) + ":  # " + at.file + ":" + std::to_string(at.line), at);
      EmitItems(s, "    ");
    }
  }

  const Document& doc_;
  const ImportOptions& o_;
  Imported result_;
  std::set<size_t> used_comments_;  // doc_.comments already written
  const char* unused_ = nullptr;
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

Split SplitChildren(int max_children, int processes, int threads) {
  // 64-bit arithmetic: max_children may be INT_MAX (tfpm's limits then
  // refuse the result with the php-fpm line).
  Split s;
  const int64_t n = std::max(1, max_children);
  auto up = [](int64_t a, int64_t b) { return static_cast<int>(std::min<int64_t>((a + b - 1) / b, INT_MAX)); };
  if (processes > 0 && threads > 0) {
    s.processes = processes;
    s.threads = threads;
  } else if (processes > 0) {
    s.processes = processes;
    s.threads = std::max(1, up(n, processes));
  } else {
    const int64_t per = threads > 0 ? threads : kMaxThreadsPerProcess;
    s.processes = up(n, per);
    s.threads = threads > 0 ? threads : up(n, s.processes);
  }
  return s;
}

Result<Imported> Import(const Document& doc, const ImportOptions& options) {
  Importer importer(doc, options);
  return importer.Run();
}

std::string TranslateYamlError(const Imported& imported, std::string_view source, std::string_view message) {
  // "<source>:<line>: rest"
  if (message.substr(0, source.size()) != source || message.size() <= source.size() + 1 ||
      message[source.size()] != ':') {
    return std::string(message);
  }
  std::string_view rest = message.substr(source.size() + 1);
  const size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return std::string(message);
  const int line = std::atoi(std::string(rest.substr(0, colon)).c_str());
  if (line < 1 || static_cast<size_t>(line) > imported.yaml_lines.size()) return std::string(message);
  const Location& at = imported.yaml_lines[static_cast<size_t>(line - 1)];
  std::string what(rest.substr(colon + 1));
  while (!what.empty() && what.front() == ' ') what.erase(0, 1);
  if (at.line == 0) return "[" + std::string(source) + "] (imported) " + what;
  return Where(at) + " " + what;
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
