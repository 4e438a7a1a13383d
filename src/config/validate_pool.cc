// The pools: section of tfpm.yaml: pool names, $pool expansion, each pool
// through its table (validate_pool_fields.cc), then the rules that involve
// more than one key (php-fpm's pm checks with threads as the unit, worker
// mode, listen access, paths) and one listen address per pool.
#include <string>
#include <utility>
#include <vector>

#include "accesslog/format.h"
#include "config/field_checks.h"
#include "os/socket.h"
#include "config/fields.h"

namespace tfpm::config::fields {
namespace {

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
  if (const Seen* sl = FindSeen(seen, "status_listen")) {
    auto address = os::ParseListenAddress(pool.status_listen);
    if (!address.ok()) return Error(ctx, sl->line, path + ".status_listen", address.status().message());
    auto listen = os::ParseListenAddress(pool.listen);
    if (listen.ok() && *listen == *address) {
      return Error(ctx, sl->line, path + ".status_listen", "must differ from listen");
    }
  }
  for (std::string_view key : {"status_listen_max_clients", "status_listen_timeout", "status_listen_max_request"}) {
    if (const Seen* s = FindSeen(seen, key); s != nullptr && pool.status_listen.empty()) {
      return Error(ctx, s->key_line, path + "." + std::string(key), "is only used with status_listen");
    }
  }
  if (!pool.status_path.empty() && pool.status_path == pool.ping_path) {
    return Error(ctx, FindSeen(seen, "ping_path")->line, path + ".ping_path",
                 "must differ from status_path");
  }
  return Status::Ok();
}

}  // namespace

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
    if (Status s = WalkMapping<PoolConfig>(PoolFields(), pool, expanded, pool_path, member.key_line,
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
    // A status_listen address is nobody else's listen or status_listen.
    for (const PoolConfig& other : config.pools) {
      for (const std::string* mine : {&pool.listen, &pool.status_listen}) {
        if (mine->empty()) continue;
        if (*mine == other.status_listen || (mine != &pool.listen && *mine == other.listen)) {
          const bool own_listen = mine == &pool.listen;
          return Error(ctx, FindSeen(seen, own_listen ? "listen" : "status_listen")->line,
                       pool_path + (own_listen ? ".listen" : ".status_listen"),
                       *mine + " is already used by pool " + other.name);
        }
      }
    }
    config.pools.push_back(std::move(pool));
  }
  return Status::Ok();
}

}  // namespace tfpm::config::fields
