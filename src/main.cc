// tfpm: the supervisor process. Composition root: arguments, config,
// logging, daemonizing, systemd readiness; then supervisor::Supervisor.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "config/default_config.h"
#include "config/fpm_load.h"
#include "config/load_yaml.h"
#include "config/validate.h"
#include "os/acl.h"
#include "os/credentials.h"
#include "os/process.h"
#include "os/shared_memory.h"
#include "os/resource_limits.h"
#include "os/sd_notify.h"
#include "os/socket.h"
#include "supervisor/supervisor.h"
#include "tfpm_build_config.h"

namespace {

constexpr char kUsage[] =
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

tfpm::log::Level ToLogLevel(tfpm::config::LogLevel l) {
  using tfpm::config::LogLevel;
  using tfpm::log::Level;
  switch (l) {
    case LogLevel::kAlert: return Level::kAlert;
    case LogLevel::kError: return Level::kError;
    case LogLevel::kWarning: return Level::kWarning;
    case LogLevel::kNotice: return Level::kNotice;
    case LogLevel::kDebug: return Level::kDebug;
  }
  return Level::kNotice;
}

// tfpm-worker lives next to tfpm in a build tree, in libexec when installed.
std::string WorkerExecutable() {
  std::string self = tfpm::os::SelfExecutable();
  const auto slash = self.rfind('/');
  std::string dir = slash == std::string::npos ? "." : self.substr(0, slash);
  for (const std::string& candidate :
       {dir + "/worker/tfpm-worker", dir + "/tfpm-worker", std::string(TFPM_LIBEXECDIR) + "/tfpm/tfpm-worker"}) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return dir + "/tfpm-worker";
}

// Checks that need the file system: a worker script must be readable, an
// access log must open. (Keys whose features are not built yet would be
// reported in `warnings`; today there are none.) `dry_run` (pm-ctl
// config-test) changes nothing: an access log that does not exist yet is
// not created, its directory must be writable. Messages never show the
// values of ${VAR}s (config::HideEnvironment).
bool CheckFiles(const tfpm::config::Config& cfg, bool dry_run, [[maybe_unused]] std::vector<std::string>* warnings,
                std::string* error) {
  auto fail = [&](std::string message) {
    *error = tfpm::config::HideEnvironment(std::move(message), cfg.source, cfg.environment_used);
    return false;
  };
  for (const auto& p : cfg.pools) {
    const std::string at = cfg.source + ":" + std::to_string(p.line) + ": pools." + p.name + ".";
    if (p.mode == tfpm::config::PoolMode::kWorker && ::access(p.worker_script.c_str(), R_OK) != 0) {
      return fail(at + "worker.script: " + p.worker_script + ": " + std::strerror(errno));
    }
    if (p.access_log.empty()) continue;
    if (dry_run) {
      struct stat st;
      if (::stat(p.access_log.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) return fail(at + "access_log: " + p.access_log + ": " + std::strerror(EISDIR));
        if (::access(p.access_log.c_str(), W_OK) != 0) {
          return fail(at + "access_log: " + p.access_log + ": " + std::strerror(errno));
        }
        continue;
      }
      if (errno != ENOENT) return fail(at + "access_log: " + p.access_log + ": " + std::strerror(errno));
      const auto slash = p.access_log.rfind('/');
      const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : p.access_log.substr(0, slash);
      if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        return fail(at + "access_log: " + p.access_log + ": " + std::strerror(errno));
      }
      continue;
    }
    // As php-fpm's master: the access log must open (it is created if
    // missing); the workers open it again themselves.
    int fd = ::open(p.access_log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return fail(at + "access_log: " + p.access_log + ": " + std::strerror(errno));
    ::close(fd);
  }
  return true;
}

// The pools' isolation keys (docs/security.md "Isolation"), as php-fpm
// checks them when it loads its config: under root every pool needs a
// `user` that exists (and is not root) unless `allow_root` (-R); a chroot
// must be a directory, and chdir a directory inside it. Not root: user,
// group, chroot and process_priority are ignored, with a warning. Root or
// not: the names of listen_acl_users/listen_acl_groups must exist, and so
// must the confine paths (inside the chroot).
bool CheckIsolation(const tfpm::config::Config& cfg, bool allow_root, std::vector<std::string>* warnings,
                    std::string* error) {
  auto fail = [&](int line, const std::string& key, std::string what) {
    *error = tfpm::config::HideEnvironment(
        tfpm::config::ConfigError(cfg.source, line, key, what).message(), cfg.source, cfg.environment_used);
    return false;
  };
  const bool root = ::geteuid() == 0;
  auto is_dir = [](const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  };
  // Who the control socket serves besides root (SO_PEERCRED: the owner's
  // uid, the group as primary gid): never a pool's user, whose PHP code
  // could then reload, restart or stop tfpm (docs/security.md "Trust
  // boundaries"). An owner or group that does not exist fails the start.
  std::optional<uid_t> control_uid;
  std::optional<gid_t> control_gid;
  if (!cfg.daemon.control_socket_owner.empty()) {
    if (auto uid = tfpm::os::UserId(cfg.daemon.control_socket_owner); uid.ok()) control_uid = *uid;
  }
  if (!cfg.daemon.control_socket_group.empty()) {
    if (auto gid = tfpm::os::GroupId(cfg.daemon.control_socket_group); gid.ok()) control_gid = *gid;
  }
  std::set<uid_t> pool_uids;
  for (const auto& p : cfg.pools) {
    const std::string at = "pools." + p.name;
    // The socket's ACL entries and the confine paths, root or not.
    if (tfpm::Status st = tfpm::os::CheckAclNames(p.listen_acl_users, false); !st.ok()) {
      return fail(p.acl_users_line, at + ".listen_acl_users", st.message());
    }
    if (tfpm::Status st = tfpm::os::CheckAclNames(p.listen_acl_groups, true); !st.ok()) {
      return fail(p.acl_groups_line, at + ".listen_acl_groups", st.message());
    }
    for (const auto* list : {&p.confine.read, &p.confine.write}) {
      for (const std::string& path : *list) {
        struct stat st{};
        if (::stat((p.chroot + path).c_str(), &st) != 0) {
          return fail(p.confine.line, at + ".confine." + (list == &p.confine.read ? "read" : "write"),
                      path + (p.chroot.empty() ? "" : " (inside the chroot " + p.chroot + ")") + ": " +
                          std::strerror(errno));
        }
      }
    }
    if (!root) {
      if (!p.user.empty() || !p.chroot.empty() || p.process_priority) {
        warnings->push_back(cfg.source + ":" + std::to_string(p.line) + ": " + at +
                            ": user, group, chroot and process_priority are ignored: tfpm is not running as root "
                            "(as php-fpm)");
      }
      continue;
    }
    if (p.user.empty()) {
      if (!allow_root) {
        return fail(p.line, at,
                    "no user: PHP would run as root; set `user` (e.g. www-data) or start tfpm with --allow-root (-R)");
      }
    } else {
      auto id = tfpm::os::LookupIdentity(p.user, p.group);
      if (!id.ok()) return fail(p.user_line, at + ".user", id.status().message());
      if ((id->uid == 0 || id->gid == 0) && !allow_root) {
        return fail(p.user_line, at + ".user",
                    p.user + " is root (uid " + std::to_string(id->uid) + ", gid " + std::to_string(id->gid) +
                        "): PHP would run as root; name another user or start tfpm with --allow-root (-R)");
      }
      pool_uids.insert(id->uid);
      const bool owner = control_uid && id->uid == *control_uid;
      if (owner || (control_gid && id->gid == *control_gid)) {
        return fail(p.user_line, at + ".user",
                    p.user + " may use the control socket (it is daemon." +
                        (owner ? "control_socket_owner" : "control_socket_group, as primary group") +
                        "): PHP code of this pool could reload or stop tfpm; give the control socket another " +
                        (owner ? "owner" : "group"));
      }
    }
    if (!p.chroot.empty()) {
      if (!is_dir(p.chroot)) return fail(p.chroot_line, at + ".chroot", p.chroot + ": not a directory");
      if (!p.chdir.empty() && !is_dir(p.chroot + p.chdir)) {
        return fail(p.chroot_line, at + ".chdir",
                    p.chdir + " is not a directory inside the chroot (" + p.chroot + p.chdir + ")");
      }
    }
  }
  // Pools under different users: whoever can connect to a pool's socket
  // runs scripts as its user. A TCP socket, or a unix socket any user may
  // write, lets the PHP code of the other pools in (docs/security.md
  // "Trust boundaries").
  if (pool_uids.size() >= 2) {
    for (const auto& p : cfg.pools) {
      auto address = tfpm::os::ParseListenAddress(p.listen);
      if (!address.ok()) continue;  // reported when the socket is opened
      const bool tcp = address->kind == tfpm::os::ListenAddress::Kind::kTcp;
      if (!tcp && (p.listen_mode & 0002) == 0) continue;
      warnings->push_back(tfpm::config::HideEnvironment(
          cfg.source + ":" + std::to_string(p.line) + ": pools." + p.name + ".listen: " + p.listen +
              (tcp ? " is a TCP socket" : " is writable by every user (listen_mode)") +
              ": every local process, the PHP code of the other pools included, can send it requests and run "
              "scripts as this pool's user; with pools under different users, use unix sockets only the web "
              "server may open",
          cfg.source, cfg.environment_used));
    }
  }
  return true;
}

// php-fpm's command line, entered by -y/--fpm-config: everything needed to
// import php-fpm.conf the way php-fpm would read it.
struct FpmArgs {
  std::string config;  // -y
  tfpm::config::fpm::ImportOptions import;
  bool no_ini = false;
  bool daemonize = false, nodaemonize = false;
  std::string ini_arg;  // -c
};

// The value of an option given as "-x VALUE", "-xVALUE" or "--long=VALUE".
bool OptionValue(int argc, char** argv, int* i, std::string_view shortname, std::string_view longname,
                 std::string* out) {
  std::string_view a = argv[*i];
  if (a == shortname || (!longname.empty() && a == longname)) {
    if (*i + 1 >= argc) return false;
    *out = argv[++*i];
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

bool IsFile(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
bool IsDir(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// php.ini as php-fpm chooses it: -c (a file, or a directory holding
// php.ini), else $PHPRC, else the compiled-in directory, which for
// Debian's php-fpm is the one holding php-fpm.conf.
bool ChoosePhpIni(FpmArgs* f, std::string* error) {
  if (f->no_ini) return true;
  auto from = [&](const std::string& where, const char* what) {
    if (IsDir(where)) {
      f->import.php_ini = IsFile(where + "/php.ini") ? where + "/php.ini" : "";
      return true;
    }
    if (IsFile(where)) {
      f->import.php_ini = where;
      return true;
    }
    *error = std::string(what) + " " + where + ": no such file or directory";
    return false;
  };
  if (!f->ini_arg.empty()) return from(f->ini_arg, "-c");
  if (const char* rc = std::getenv("PHPRC"); rc != nullptr && *rc != '\0') return from(rc, "PHPRC");
  const auto slash = f->config.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : f->config.substr(0, slash);
  if (IsFile(dir + "/php.ini")) f->import.php_ini = std::filesystem::absolute(dir + "/php.ini").string();
  return true;
}

// PHP's scan directory as Debian's php-fpm finds it: $PHP_INI_SCAN_DIR
// (the workers inherit it), else its compiled-in one, which is conf.d
// beside php-fpm.conf (/etc/php/8.2/fpm/conf.d), whichever php.ini -c
// chose. -n reads none, as php -n.
void ChooseScanDir(FpmArgs* f) {
  if (f->no_ini) return;
  if (const char* env = std::getenv("PHP_INI_SCAN_DIR"); env != nullptr) return;
  const auto slash = f->config.rfind('/');
  const std::string dir = (slash == std::string::npos ? "." : f->config.substr(0, slash)) + "/conf.d";
  if (IsDir(dir)) f->import.scan_dir = std::filesystem::absolute(dir).string();
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool foreground = false, test = false, allow_root = false;
  const char* php_cli = nullptr;  // --modules | --info | --ini: run by tfpm-worker
  bool fpm_mode = false;
  FpmArgs fpm;
  for (int i = 1; i < argc; ++i) {
    std::string v;
    if (OptionValue(argc, argv, &i, "-y", "--fpm-config", &v)) {
      fpm_mode = true;
      fpm.config = v;
    } else if (std::string_view a = argv[i]; a == "-y" || a == "--fpm-config") {
      std::fprintf(stderr, "tfpm: %s needs a file (php-fpm.conf)\n", argv[i]);
      return 2;
    }
  }
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string v;
    if (fpm_mode) {
      if (OptionValue(argc, argv, &i, "-y", "--fpm-config", &v)) continue;
      if (OptionValue(argc, argv, &i, "-c", "--php-ini", &v)) { fpm.ini_arg = v; continue; }
      if (OptionValue(argc, argv, &i, "-p", "--prefix", &v)) { fpm.import.prefix = v; continue; }
      if (OptionValue(argc, argv, &i, "-g", "--pid", &v)) { fpm.import.pid_file = v; continue; }
      if (OptionValue(argc, argv, &i, "-d", "--define", &v)) {
        const auto eq = v.find('=');
        // php -d name (no value) sets "1", as PHP's CLI does.
        fpm.import.php_defines.emplace_back(v.substr(0, eq), eq == std::string::npos ? "1" : v.substr(eq + 1));
        continue;
      }
      if (a == "-t" || a == "-tt" || a == "--test") { test = true; continue; }
      if (a == "-F" || a == "--nodaemonize") { fpm.nodaemonize = true; continue; }
      if (a == "-D" || a == "--daemonize") { fpm.daemonize = true; continue; }
      if (a == "-R" || a == "--allow-to-run-as-root" || a == "--allow-root") {
        fpm.import.allow_root = allow_root = true;
        continue;
      }
      if (a == "-n" || a == "--no-php-ini") { fpm.no_ini = true; continue; }
      if (a == "-O" || a == "--force-stderr") continue;
    } else if ((a == "-c" || a == "--config") && i + 1 < argc) {
      config_path = argv[++i];
      continue;
    } else if (a == "-F" || a == "--foreground") {
      foreground = true;
      continue;
    } else if (a == "-t" || a == "--test") {
      test = true;
      continue;
    } else if (a == "-R" || a == "--allow-root") {
      allow_root = true;
      continue;
    }
    if (a == "-m" || a == "--modules") {
      php_cli = "--modules";
    } else if (a == "-i" || a == "--info") {
      php_cli = "--info";
    } else if (a == "--ini") {
      php_cli = "--ini";
    } else if (a == "--print-default-config") {
      std::fputs(tfpm::config::EmbeddedDefaultConfig().c_str(), stdout);
      return 0;
    } else if (a == "-v" || a == "--version") {
      std::printf("tfpm %s (PHP %s, ZTS, Zend max-execution timers)\n", TFPM_VERSION, TFPM_PHP_VERSION);
      return 0;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "tfpm: unknown argument '%s'%s\n%s", argv[i],
                   fpm_mode ? " (php-fpm compatibility mode)" : "", kUsage);
      return 2;
    }
  }

  std::string text;
  std::string source = "<built-in>";
  std::function<tfpm::Result<std::string>()> reread;
  std::function<tfpm::Result<std::string>(const std::string&, const tfpm::config::fpm::FileRule&)> import;
  // -y: later checks' messages name the php-fpm file and line.
  std::function<std::string(std::string_view)> translate = [](std::string_view m) { return std::string(m); };
  tfpm::Result<tfpm::config::Config> cfg = tfpm::Status::InvalidArgument("no configuration");
  if (fpm_mode) {
    if (fpm.config.empty()) {
      std::fprintf(stderr, "tfpm: --fpm-config needs a file\n");
      return 2;
    }
    // Relative names stay valid after the daemon changes directory.
    fpm.config = std::filesystem::absolute(fpm.config).string();
    std::string error;
    if (!ChoosePhpIni(&fpm, &error)) {
      std::fprintf(stderr, "tfpm: %s\n", error.c_str());
      return 1;
    }
    ChooseScanDir(&fpm);
    fpm.import.running_as_root = ::geteuid() == 0;
    if (const char* cs = std::getenv("TFPM_CONTROL_SOCKET"); cs != nullptr && *cs != '\0') {
      fpm.import.control_socket = cs;
    }
    auto loaded = tfpm::config::LoadFpmConfig(fpm.config, fpm.import);
    if (!loaded.ok()) {
      std::fprintf(stderr, "ERROR: %s\nERROR: failed to load configuration file '%s'\n",
                   loaded.status().message().c_str(), fpm.config.c_str());
      return 1;
    }
    for (const auto& w : loaded->warnings) std::fprintf(stderr, "WARNING: %s\n", w.c_str());
    for (const auto& n : loaded->notes) std::fprintf(stderr, "NOTICE: %s\n", n.text.c_str());
    if (!fpm.import.php_ini.empty()) {
      std::fprintf(stderr, "NOTICE: php.ini: %s\n", fpm.import.php_ini.c_str());
    }
    if (!fpm.import.scan_dir.empty()) {
      std::fprintf(stderr, "NOTICE: scan directory: %s\n", fpm.import.scan_dir.c_str());
    }
    foreground = fpm.nodaemonize || (!fpm.daemonize && !loaded->daemonize);
    text = loaded->yaml;
    source = fpm.config;
    cfg = std::move(loaded->config);
    translate = loaded->translate;
    // pm-ctl reload / SIGUSR2 import php-fpm.conf again.
    reread = [path = fpm.config, options = fpm.import]() -> tfpm::Result<std::string> {
      auto again = tfpm::config::LoadFpmConfig(path, options);
      if (!again.ok()) return again.status();
      for (const auto& n : again->notes) tfpm::log::Notice("{}", n.text);
      return std::move(again->yaml);
    };
    // pm-ctl config-test FILE: FILE is a php-fpm.conf too.
    import = [options = fpm.import](const std::string& path,
                                    const tfpm::config::fpm::FileRule& accept) -> tfpm::Result<std::string> {
      tfpm::config::fpm::CheckedFiles files(tfpm::config::kMaxConfigBytes, accept);
      auto imported = tfpm::config::LoadFpmConfig(path, options, files);
      if (!imported.ok()) return imported.status();
      return std::move(imported->yaml);
    };
  } else {
    if (!config_path.empty()) {
      auto read = tfpm::os::ReadRegularFile(config_path, tfpm::config::kMaxConfigBytes);
      if (!read.ok()) {
        std::fprintf(stderr, "tfpm: %s\n", read.status().message().c_str());
        return 1;
      }
      text = std::move(read.value());
      source = config_path;
    } else {
      text = tfpm::config::EmbeddedDefaultConfig();
    }
    cfg = tfpm::config::LoadConfigString(text, source);
  }
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.status().message().c_str());
    return 1;
  }
  std::vector<std::string> warnings;
  if (std::string error; !CheckFiles(*cfg, /*dry_run=*/false, &warnings, &error)) {
    std::fprintf(stderr, "%s\n", translate(error).c_str());
    return 1;
  }
  if (std::string error; php_cli == nullptr && !CheckIsolation(*cfg, allow_root, &warnings, &error)) {
    std::fprintf(stderr, "%s\n", translate(error).c_str());
    return 1;
  }
  for (const auto& w : warnings) std::fprintf(stderr, "WARNING: %s\n", w.c_str());
  if (test) {
    if (fpm_mode) {
      std::fprintf(stderr, "NOTICE: configuration file %s test is successful\n", source.c_str());
    } else {
      std::printf("configuration file %s test is successful\n", source.c_str());
    }
    return 0;
  }
  if (php_cli != nullptr) {
    std::string worker = WorkerExecutable();
    if (config_path.empty()) {
      execl(worker.c_str(), worker.c_str(), php_cli, static_cast<char*>(nullptr));
    } else {
      execl(worker.c_str(), worker.c_str(), php_cli, "--config", config_path.c_str(),
            static_cast<char*>(nullptr));
    }
    std::fprintf(stderr, "tfpm: exec %s: %s\n", worker.c_str(), std::strerror(errno));
    return 1;
  }

  if (auto st = tfpm::log::Init(cfg->daemon.error_log, ToLogLevel(cfg->daemon.log_level)); !st.ok()) {
    std::fprintf(stderr, "tfpm: %s\n", st.message().c_str());
    return 1;
  }
  tfpm::log::SetLineLimit(cfg->daemon.log_limit);
  // Descriptors: each kept connection of a worker takes one, and the soft
  // limit inherited from a shell or systemd is often 1024. Read at start
  // only; the workers inherit it (a reload does not change it).
  uint64_t files = 0;
  if (auto st = tfpm::os::SetFileLimit(cfg->daemon.rlimit_files, &files); !st.ok()) {
    tfpm::log::Alert("rlimit_files: {}", st.message());
    return 1;
  }
  tfpm::log::Debug("descriptor limit (RLIMIT_NOFILE): {}", files);
  // php-fpm's global rlimit_core: the daemon's and so its workers'.
  if (cfg->daemon.rlimit_core != 0) {
    tfpm::os::SystemCredentials credentials;
    const uint64_t core = cfg->daemon.rlimit_core == tfpm::config::kRlimitUnlimited ? tfpm::os::kUnlimited
                                                                                   : cfg->daemon.rlimit_core;
    if (auto st = credentials.SetResourceLimit(tfpm::os::Resource::kCore, core); !st.ok()) {
      tfpm::log::Alert("rlimit_core: {}", st.message());
      return 1;
    }
  }

  // Daemonize as php-fpm does by default: the parent waits until the workers
  // are ready (or failed) and exits with that result.
  int ready_pipe = -1;
  if (!foreground) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
      std::perror("tfpm: pipe");
      return 1;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("tfpm: fork");
      return 1;
    }
    if (pid > 0) {
      ::close(p[1]);
      char result = 0;
      ssize_t n;
      do n = ::read(p[0], &result, 1); while (n < 0 && errno == EINTR);
      return n == 1 && result == 'o' ? 0 : 1;
    }
    ::close(p[0]);
    ready_pipe = p[1];
    ::setsid();
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::close(devnull);
    }
  }

  tfpm::os::BoostSpawner spawner;
  tfpm::os::SystemClock clock;
  tfpm::supervisor::SupervisorOptions options;
  options.worker_executable = WorkerExecutable();
  options.config_text = text;
  // Reload re-reads this file: absolute, whatever the working directory.
  options.config_path = config_path.empty() ? "" : std::filesystem::absolute(config_path).string();
  options.reread_config = std::move(reread);
  options.import_config = std::move(import);
  options.check = [allow_root](const tfpm::config::Config& c, bool dry_run, std::vector<std::string>* warnings) {
    std::string error;
    if (!CheckFiles(c, dry_run, warnings, &error)) return tfpm::Status::InvalidArgument(error);
    if (!CheckIsolation(c, allow_root, warnings, &error)) return tfpm::Status::InvalidArgument(error);
    return tfpm::Status::Ok();
  };
  if (std::getenv("NOTIFY_SOCKET") != nullptr) {
    options.notify = [](std::string_view m) { tfpm::os::SdNotify(m); };
    options.watchdog = tfpm::os::SdWatchdogInterval();
  }
  options.activated_fds = tfpm::os::SdListenFds();
  const bool log_to_stderr = cfg->daemon.error_log == "stderr";
  options.on_ready = [&ready_pipe, log_to_stderr](const tfpm::Status& st) {
    if (st.ok()) tfpm::os::SdNotify("READY=1\nSTATUS=serving");
    if (ready_pipe >= 0) {
      // Detached from the terminal from now on (as php-fpm): stdout always,
      // stderr unless it is the configured log.
      int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
      if (devnull >= 0) {
        ::dup2(devnull, 1);
        if (!log_to_stderr) ::dup2(devnull, 2);
        ::close(devnull);
      }
      const char c = st.ok() ? 'o' : 'f';
      [[maybe_unused]] ssize_t n = ::write(ready_pipe, &c, 1);
      ::close(ready_pipe);
      ready_pipe = -1;
    }
  };
  tfpm::supervisor::Supervisor supervisor(std::move(cfg.value()), std::move(options), &spawner, &clock);
  if (auto st = supervisor.Start(); !st.ok()) {
    tfpm::log::Alert("{}", st.message());
    if (ready_pipe >= 0) {
      [[maybe_unused]] ssize_t n = ::write(ready_pipe, "f", 1);
    }
    return 1;
  }
  const int code = supervisor.Run();
  tfpm::os::SdNotify("STOPPING=1");
  return code;
}
