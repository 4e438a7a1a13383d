// One php-fpm pool mapped onto a tfpm pool: who runs PHP (user, group), the
// listen keys, paths and pages, limits, timeouts and flags, and the
// php_value / php_admin_value / env arrays. The process manager (pm.*) is
// fpm_pm.cc's; rows the steps leave alone get the table's note.
#include <algorithm>
#include <initializer_list>
#include <string>
#include <tuple>

#include "config/fpm_import.h"
#include "config/fpm_values.h"

namespace tfpm::config::fpm {

Status Importer::PoolOut(PoolState& ps, Section* s) {
  PoolJob job{ps, ps.values, s, "", "[pool " + ps.name + "] ", {}, {}};
  if (const Seen* p = Get(job.v, "prefix")) job.prefix = Resolve(p->value, "", "/usr");
  job.handled.push_back("prefix");
  PoolUsers(job);
  if (Status st = PoolListen(job); !st.ok()) return st;
  if (Status st = PoolPm(job); !st.ok()) return st;
  PoolPaths(job);
  PoolLimits(job);
  PoolTimesAndFlags(job);
  PoolLimitExtensions(job);
  PoolArrays(job);
  TableNotes(Scope::kPool, job.v, s, job.handled);
  for (const Entry& e : ps.passthrough) {
    const std::string key = e.name.substr(5);
    if (key == "processes" || key == "threads") continue;  // used by the split (fpm_pm.cc)
    s->items.push_back(Scalar(key, PlainIfSafe(e.value), e.at, "tfpm's own key"));
  }
  return Status::Ok();
}

// Who runs PHP: only when tfpm runs as root (or writes a file), as php-fpm.
void Importer::PoolUsers(PoolJob& job) {
  for (std::string_view k : {"user", "group"}) {
    const Seen* u = Get(job.v, k);
    if (u == nullptr) continue;
    job.handled.push_back(k);
    if (!o_.for_file && !o_.running_as_root) {
      AddNote(u->at, k, u->value, "ignored: tfpm is not running as root (as php-fpm)", job.s);
      continue;
    }
    if (k == "group" && Get(job.v, "user") == nullptr) {
      AddNote(u->at, k, u->value, "ignored: tfpm takes a group only with a user", job.s);
      continue;
    }
    // tfpm checks that it exists (and, as root without -R, that the pool
    // has one and it is not root) when it loads the YAML.
    job.s->items.push_back(Scalar(std::string(k), Quote(u->value), u->at));
  }
}

// listen (required; a relative unix socket is taken from the prefix),
// listen.backlog, listen.mode and the access keys.
Status Importer::PoolListen(PoolJob& job) {
  const Seen* listen = Get(job.v, "listen");
  if (listen == nullptr || listen->value.empty()) {
    return Fail(job.ps.at, job.tag + "no listen address have been defined!");
  }
  std::string address = listen->value;
  const bool unix_socket = address.find(':') == std::string::npos &&
                           address.find_first_not_of("0123456789") != std::string::npos;
  if (unix_socket) address = Resolve(address, job.prefix, "/usr");
  Section* s = job.s;
  s->items.push_back(Scalar("listen", Quote(address), listen->at));
  // pm.status_listen: the same address forms and listen.* access as listen
  // (php-fpm); tfpm's supervisor serves it without PHP.
  job.handled.push_back("pm.status_listen");
  if (const Seen* sl = Get(job.v, "pm.status_listen"); sl != nullptr && !sl->value.empty()) {
    std::string status_address = sl->value;
    if (status_address.find(':') == std::string::npos &&
        status_address.find_first_not_of("0123456789") != std::string::npos) {
      status_address = Resolve(status_address, job.prefix, "/usr");
    }
    s->items.push_back(Scalar("status_listen", Quote(status_address), sl->at));
  }
  if (const Seen* b = Get(job.v, "listen.backlog"); b != nullptr && ToInt(b->value) > 0) {
    s->items.push_back(Scalar("listen_backlog", std::to_string(ToInt(b->value)), b->at));
  }
  if (const Seen* m = Get(job.v, "listen.mode")) s->items.push_back(Scalar("listen_mode", Quote(m->value), m->at));
  ListenAccess(job.v, unix_socket, s);
  job.handled.insert(job.handled.end(), {"listen", "listen.backlog", "listen.mode", "listen.owner", "listen.group",
                                         "listen.allowed_clients", "listen.acl_users", "listen.acl_groups"});
  return Status::Ok();
}

// listen.owner/group, listen.acl_users/groups (unix sockets; with ACLs
// the owner and group are left alone, as php-fpm) and
// listen.allowed_clients (TCP only, as php-fpm).
void Importer::ListenAccess(const Values& v, bool unix_socket, Section* s) {
  const Seen* acl_users = Get(v, "listen.acl_users");
  const Seen* acl_groups = Get(v, "listen.acl_groups");
  const Seen* clients = Get(v, "listen.allowed_clients");
  bool acl = false;
  for (const auto& [directive, key, seen] : {std::tuple{"listen.acl_users", "listen_acl_users", acl_users},
                                             std::tuple{"listen.acl_groups", "listen_acl_groups", acl_groups}}) {
    if (seen == nullptr) continue;
    Item i = CommaList(key, seen->value, seen->at);
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
    Item i = CommaList("listen_allowed_clients", clients->value, clients->at);
    if (unix_socket) {
      AddNote(clients->at, "listen.allowed_clients", clients->value, "ignored: listen is a unix socket (as php-fpm)",
              s);
    } else if (!i.list.empty()) {
      s->items.push_back(std::move(i));
    }
  }
}

// Paths and pages; relative paths are taken from the pool's prefix.
void Importer::PoolPaths(PoolJob& job) {
  auto string_key = [&](std::string_view directive, const char* key, bool path) {
    job.handled.push_back(directive);
    const Seen* x = Get(job.v, directive);
    if (x == nullptr || x->value.empty()) return;
    job.s->items.push_back(Scalar(key, Quote(path ? Resolve(x->value, job.prefix, "/usr") : x->value), x->at));
  };
  string_key("pm.status_path", "status_path", false);
  string_key("ping.path", "ping_path", false);
  if (Get(job.v, "ping.path") != nullptr) string_key("ping.response", "ping_response", false);
  job.handled.push_back("ping.response");
  string_key("access.log", "access_log", true);
  string_key("access.format", "access_format", false);
  string_key("slowlog", "slowlog", true);
  string_key("chdir", "chdir", true);
  string_key("chroot", "chroot", true);
}

// Isolation: php-fpm's 0 is "unset" for the limits.
void Importer::PoolLimits(PoolJob& job) {
  const Values& v = job.v;
  Section* s = job.s;
  job.handled.insert(job.handled.end(), {"rlimit_files", "rlimit_core", "process.dumpable", "process.priority"});
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
}

// Request timeouts (0 = off, left out), the slowlog depth and the flags.
void Importer::PoolTimesAndFlags(PoolJob& job) {
  auto time_key = [&](std::string_view directive, const char* key) {
    job.handled.push_back(directive);
    const Seen* x = Get(job.v, directive);
    if (x == nullptr) return;
    const long secs = *ToSeconds(x->value, &unused_);
    if (secs > 0) job.s->items.push_back(Scalar(key, Seconds(secs), x->at));
  };
  time_key("request_terminate_timeout", "request_terminate_timeout");
  time_key("request_slowlog_timeout", "request_slowlog_timeout");
  if (const Seen* x = Get(job.v, "request_slowlog_trace_depth")) {
    job.s->items.push_back(Scalar("request_slowlog_trace_depth", std::to_string(ToInt(x->value)), x->at));
  }
  job.handled.push_back("request_slowlog_trace_depth");
  for (std::string_view k : {"request_terminate_timeout_track_finished", "catch_workers_output",
                             "decorate_workers_output", "clear_env"}) {
    job.handled.push_back(k);
    if (const Seen* x = Get(job.v, k)) {
      job.s->items.push_back(Scalar(std::string(k), *ToBool(x->value) ? "true" : "false", x->at));
    }
  }
}

// security.limit_extensions: space-separated; php-fpm's default when unset.
void Importer::PoolLimitExtensions(PoolJob& job) {
  job.handled.push_back("security.limit_extensions");
  const Seen* x = Get(job.v, "security.limit_extensions");
  Item i;
  i.key = "limit_extensions";
  i.is_list = true;
  i.at = x ? x->at : job.ps.at;
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
  job.s->items.push_back(std::move(i));
}

// Arrays, in file order; a key given twice keeps its last value. The
// error_log and extension_dir INI values are paths from the prefix.
void Importer::PoolArrays(PoolJob& job) {
  auto array_key = [&](std::initializer_list<std::string_view> names, const char* key) {
    Item i;
    i.key = key;
    i.is_map = true;
    for (const auto& [name, e] : job.ps.arrays) {
      if (std::find(names.begin(), names.end(), name) == names.end()) continue;
      std::string value = e.value;
      if ((std::string_view(key) != "env") && (e.key == "error_log" || e.key == "extension_dir") &&
          value != "syslog") {
        value = Resolve(value, job.prefix, "/usr");
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
    if (!i.map.empty()) job.s->items.push_back(std::move(i));
  };
  array_key({"php_value", "php_flag"}, "php_value");
  array_key({"php_admin_value", "php_admin_flag"}, "php_admin_value");
  array_key({"env"}, "env");
  Item i;
  i.key = "access_suppress_path";
  i.is_list = true;
  for (const auto& [name, e] : job.ps.arrays) {
    if (name != "access.suppress_path") continue;
    i.list.push_back(e.value);
    if (i.at.line == 0) i.at = e.at;
  }
  if (!i.list.empty()) job.s->items.push_back(std::move(i));
}

}  // namespace tfpm::config::fpm
