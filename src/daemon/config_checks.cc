#include "daemon/config_checks.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <set>

#include "config/validate.h"
#include "os/acl.h"
#include "os/credentials.h"
#include "os/fd_io.h"
#include "os/file_info.h"
#include "os/socket.h"
#include "os/this_process.h"

namespace tfpm::daemon {
namespace {

// "<path>: <why access(2) refused it>" for an Accessible() that said no or
// failed.
std::string AccessError(const std::string& path, const Result<bool>& allowed) {
  if (!allowed.ok()) return allowed.status().message();
  return path + ": " + std::strerror(EACCES);
}

// An access log for `pm-ctl config-test`: it may not exist yet, but then
// its directory must let tfpm create it. Returns "" or what is wrong
// ("<path>: <strerror>").
std::string CheckAccessLogDryRun(const std::string& path) {
  auto type = os::TypeOf(path);
  if (type.ok()) {
    if (*type == os::FileType::kDirectory) return path + ": " + std::strerror(EISDIR);
    auto writable = os::Accessible(path, W_OK);
    return writable.ok() && *writable ? "" : AccessError(path, writable);
  }
  if (type.status().code() != Status::Code::kNotFound) return type.status().message();
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  auto usable = os::Accessible(dir, W_OK | X_OK);
  if (usable.ok() && *usable) return "";
  // access(2)'s errno, named after the log as before: "<log>: <strerror>".
  const std::string why = AccessError(dir, usable);
  return path + why.substr(dir.size());
}

// The ids of the control socket's owner and group (who may use it besides
// root); names that do not exist are reported when the socket is made.
struct ControlIds {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

ControlIds ControlSocketIds(const config::DaemonConfig& d) {
  ControlIds ids;
  if (!d.control_socket_owner.empty()) {
    if (auto uid = os::UserId(d.control_socket_owner); uid.ok()) ids.uid = *uid;
  }
  if (!d.control_socket_group.empty()) {
    if (auto gid = os::GroupId(d.control_socket_group); gid.ok()) ids.gid = *gid;
  }
  return ids;
}

class IsolationCheck {
 public:
  IsolationCheck(const config::Config& cfg, bool allow_root, std::vector<std::string>* warnings)
      : cfg_(cfg), allow_root_(allow_root), warnings_(warnings), control_(ControlSocketIds(cfg.daemon)) {}

  Status Run() {
    const bool root = os::EffectiveUid() == 0;
    for (const auto& p : cfg_.pools) {
      if (Status st = CheckNames(p); !st.ok()) return st;
      if (!root) {
        if (!p.user.empty() || !p.chroot.empty() || p.process_priority) {
          Warn(cfg_.source + ":" + std::to_string(p.line) + ": pools." + p.name +
               ": user, group, chroot and process_priority are ignored: tfpm is not running as root (as php-fpm)");
        }
        continue;
      }
      if (Status st = CheckUser(p); !st.ok()) return st;
      if (Status st = CheckChroot(p); !st.ok()) return st;
    }
    if (pool_uids_.size() >= 2) WarnSharedSockets();
    return Status::Ok();
  }

 private:
  Status Fail(int line, const std::string& key, const std::string& what) const {
    return Status::InvalidArgument(config::HideEnvironment(config::ConfigError(cfg_.source, line, key, what).message(),
                                                           cfg_.source, cfg_.environment_used));
  }
  void Warn(std::string text) { warnings_->push_back(std::move(text)); }

  // The socket's ACL entries and the confine paths, root or not.
  Status CheckNames(const config::PoolConfig& p) const {
    const std::string at = "pools." + p.name;
    if (Status st = os::CheckAclNames(p.listen_acl_users, false); !st.ok()) {
      return Fail(p.acl_users_line, at + ".listen_acl_users", st.message());
    }
    if (Status st = os::CheckAclNames(p.listen_acl_groups, true); !st.ok()) {
      return Fail(p.acl_groups_line, at + ".listen_acl_groups", st.message());
    }
    for (const auto* list : {&p.confine.read, &p.confine.write}) {
      for (const std::string& path : *list) {
        auto type = os::TypeOf(p.chroot + path);
        if (type.ok()) continue;
        const std::string& m = type.status().message();  // "<chroot><path>: <strerror>"
        return Fail(p.confine.line, at + ".confine." + (list == &p.confine.read ? "read" : "write"),
                    path + (p.chroot.empty() ? "" : " (inside the chroot " + p.chroot + ")") +
                        m.substr(p.chroot.size() + path.size()));
      }
    }
    return Status::Ok();
  }

  // Root only: who PHP runs as.
  Status CheckUser(const config::PoolConfig& p) {
    const std::string at = "pools." + p.name;
    if (p.user.empty()) {
      if (allow_root_) return Status::Ok();
      return Fail(p.line, at,
                  "no user: PHP would run as root; set `user` (e.g. www-data) or start tfpm with --allow-root (-R)");
    }
    auto id = os::LookupIdentity(p.user, p.group);
    if (!id.ok()) return Fail(p.user_line, at + ".user", id.status().message());
    if ((id->uid == 0 || id->gid == 0) && !allow_root_) {
      return Fail(p.user_line, at + ".user",
                  p.user + " is root (uid " + std::to_string(id->uid) + ", gid " + std::to_string(id->gid) +
                      "): PHP would run as root; name another user or start tfpm with --allow-root (-R)");
    }
    pool_uids_.insert(id->uid);
    // Never a pool's user on the control socket: its PHP code could then
    // reload, restart or stop tfpm (docs/security.md "Trust boundaries").
    const bool owner = control_.uid && id->uid == *control_.uid;
    if (owner || (control_.gid && id->gid == *control_.gid)) {
      return Fail(p.user_line, at + ".user",
                  p.user + " may use the control socket (it is daemon." +
                      (owner ? "control_socket_owner" : "control_socket_group, as primary group") +
                      "): PHP code of this pool could reload or stop tfpm; give the control socket another " +
                      (owner ? "owner" : "group"));
    }
    return Status::Ok();
  }

  // Root only: the chroot and the directory PHP starts in inside it.
  Status CheckChroot(const config::PoolConfig& p) const {
    if (p.chroot.empty()) return Status::Ok();
    const std::string at = "pools." + p.name;
    if (!os::IsDirectory(p.chroot)) return Fail(p.chroot_line, at + ".chroot", p.chroot + ": not a directory");
    if (!p.chdir.empty() && !os::IsDirectory(p.chroot + p.chdir)) {
      return Fail(p.chroot_line, at + ".chdir",
                  p.chdir + " is not a directory inside the chroot (" + p.chroot + p.chdir + ")");
    }
    return Status::Ok();
  }

  // Pools under different users: whoever can connect to a pool's socket
  // runs scripts as its user. A TCP socket, or a unix socket any user may
  // write, lets the PHP code of the other pools in (docs/security.md
  // "Trust boundaries").
  void WarnSharedSockets() {
    for (const auto& p : cfg_.pools) {
      auto address = os::ParseListenAddress(p.listen);
      if (!address.ok()) continue;  // reported when the socket is opened
      const bool tcp = address->kind == os::ListenAddress::Kind::kTcp;
      if (!tcp && (p.listen_mode & 0002) == 0) continue;
      Warn(config::HideEnvironment(
          cfg_.source + ":" + std::to_string(p.line) + ": pools." + p.name + ".listen: " + p.listen +
              (tcp ? " is a TCP socket" : " is writable by every user (listen_mode)") +
              ": every local process, the PHP code of the other pools included, can send it requests and run "
              "scripts as this pool's user; with pools under different users, use unix sockets only the web "
              "server may open",
          cfg_.source, cfg_.environment_used));
    }
  }

  const config::Config& cfg_;
  const bool allow_root_;
  std::vector<std::string>* warnings_;
  const ControlIds control_;
  std::set<uid_t> pool_uids_;
};

}  // namespace

Status CheckFiles(const config::Config& cfg, DryRun dry_run) {
  auto fail = [&](std::string message) {
    return Status::InvalidArgument(config::HideEnvironment(std::move(message), cfg.source, cfg.environment_used));
  };
  for (const auto& p : cfg.pools) {
    const std::string at = cfg.source + ":" + std::to_string(p.line) + ": pools." + p.name + ".";
    if (p.mode == config::PoolMode::kWorker) {
      auto readable = os::Accessible(p.worker_script, R_OK);
      if (!readable.ok() || !*readable) return fail(at + "worker.script: " + AccessError(p.worker_script, readable));
    }
    if (p.access_log.empty()) continue;
    if (dry_run == DryRun::kYes) {
      if (std::string e = CheckAccessLogDryRun(p.access_log); !e.empty()) return fail(at + "access_log: " + e);
      continue;
    }
    // As php-fpm's master: the access log must open (it is created if
    // missing); the workers open it again themselves.
    auto log = os::OpenForAppend(p.access_log, 0600);
    if (!log.ok()) return fail(at + "access_log: " + log.status().message());
  }
  return Status::Ok();
}

Status CheckIsolation(const config::Config& cfg, bool allow_root, std::vector<std::string>* warnings) {
  return IsolationCheck(cfg, allow_root, warnings).Run();
}

}  // namespace tfpm::daemon
