// tfpm: the supervisor process. Composition root: arguments, config,
// logging, daemonizing, systemd readiness; then supervisor::Supervisor.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "config/default_config.h"
#include "config/load_yaml.h"
#include "os/process.h"
#include "os/resource_limits.h"
#include "os/sd_notify.h"
#include "supervisor/supervisor.h"
#include "tfpm_build_config.h"

namespace {

constexpr char kUsage[] =
    "Usage: tfpm [--config FILE] [--foreground] [--test] [--version]\n"
    "\n"
    "  -c, --config FILE   YAML config (default: the built-in config, see\n"
    "                      `tfpm --print-default-config`)\n"
    "  -F, --foreground    stay in the foreground (systemd, containers)\n"
    "  -t, --test          check the config and exit (non-zero with the error)\n"
    "  -m, --modules       list the PHP modules compiled in (like php -m)\n"
    "      --print-default-config\n"
    "  -v, --version\n"
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
// reported in `warnings`; today there are none.)
bool CheckFiles(const tfpm::config::Config& cfg, [[maybe_unused]] std::vector<std::string>* warnings,
                std::string* error) {
  for (const auto& p : cfg.pools) {
    const std::string at = cfg.source + ":" + std::to_string(p.line) + ": pools." + p.name + ".";
    if (p.mode == tfpm::config::PoolMode::kWorker && ::access(p.worker_script.c_str(), R_OK) != 0) {
      *error = at + "worker.script: " + p.worker_script + ": " + std::strerror(errno);
      return false;
    }
    // As php-fpm's master: the access log must open (it is created if
    // missing); the workers open it again themselves.
    if (!p.access_log.empty()) {
      int fd = ::open(p.access_log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) {
        *error = at + "access_log: " + p.access_log + ": " + std::strerror(errno);
        return false;
      }
      ::close(fd);
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool foreground = false, test = false, modules = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "-F" || a == "--foreground") {
      foreground = true;
    } else if (a == "-t" || a == "--test") {
      test = true;
    } else if (a == "-m" || a == "--modules") {
      modules = true;
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
      std::fprintf(stderr, "tfpm: unknown argument '%s'\n%s", argv[i], kUsage);
      return 2;
    }
  }

  std::string text;
  std::string source = "<built-in>";
  if (!config_path.empty()) {
    auto read = tfpm::os::ReadFile(config_path);
    if (!read.ok()) {
      std::fprintf(stderr, "tfpm: %s\n", read.status().message().c_str());
      return 1;
    }
    text = std::move(read.value());
    source = config_path;
  } else {
    text = tfpm::config::EmbeddedDefaultConfig();
  }
  auto cfg = tfpm::config::LoadConfigString(text, source);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.status().message().c_str());
    return 1;
  }
  std::vector<std::string> warnings;
  if (std::string error; !CheckFiles(*cfg, &warnings, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  for (const auto& w : warnings) std::fprintf(stderr, "WARNING: %s\n", w.c_str());
  if (test) {
    std::printf("configuration file %s test is successful\n", source.c_str());
    return 0;
  }
  if (modules) {
    std::string worker = WorkerExecutable();
    if (config_path.empty()) {
      execl(worker.c_str(), worker.c_str(), "--modules", static_cast<char*>(nullptr));
    } else {
      execl(worker.c_str(), worker.c_str(), "--modules", "--config", config_path.c_str(),
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
  options.check = [](const tfpm::config::Config& c, std::vector<std::string>* warnings) {
    std::string error;
    if (!CheckFiles(c, warnings, &error)) return tfpm::Status::InvalidArgument(error);
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
