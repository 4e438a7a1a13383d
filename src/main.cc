// tfpm: the supervisor process. Composition root: the command line
// (daemon/command_line.h), the configuration and its checks
// (daemon/config_source.h, daemon/config_checks.h), logging, limits,
// daemonizing (os/detach.h), systemd readiness; then
// supervisor::Supervisor runs until the daemon stops.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "base/log.h"
#include "config/default_config.h"
#include "daemon/command_line.h"
#include "daemon/config_checks.h"
#include "daemon/config_source.h"
#include "os/credentials.h"
#include "os/detach.h"
#include "os/process.h"
#include "os/resource_limits.h"
#include "os/sd_notify.h"
#include "os/this_process.h"
#include "supervisor/supervisor.h"
#include "tfpm_build_config.h"

namespace {

using tfpm::Status;
namespace daemon = tfpm::daemon;

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
    auto runnable = tfpm::os::Accessible(candidate, X_OK);
    if (runnable.ok() && *runnable) return candidate;
  }
  return dir + "/tfpm-worker";
}

// Answers that need no config (--version, --help, ...).
int Answer(daemon::CommandLine::Answer a) {
  switch (a) {
    case daemon::CommandLine::Answer::kPrintDefaultConfig:
      std::fputs(tfpm::config::EmbeddedDefaultConfig().c_str(), stdout);
      break;
    case daemon::CommandLine::Answer::kVersion:
      std::printf("tfpm %s (PHP %s, ZTS, Zend max-execution timers)\n", TFPM_VERSION, TFPM_PHP_VERSION);
      break;
    case daemon::CommandLine::Answer::kHelp:
    case daemon::CommandLine::Answer::kNone:
      std::fputs(daemon::kUsage, stdout);
      break;
  }
  return 0;
}

// --modules, --info, --ini: tfpm-worker answers, with the same config.
int RunPhpCli(const daemon::CommandLine& cl) {
  const std::string worker = WorkerExecutable();
  std::vector<std::string> args = {worker, cl.php_cli};
  if (!cl.config_path.empty()) args.insert(args.end(), {"--config", cl.config_path});
  const Status st = tfpm::os::ReplaceProcess(worker, args);
  std::fprintf(stderr, "tfpm: %s\n", st.message().c_str());
  return 1;
}

// The error log, and the daemon-wide limits its workers inherit. False
// (logged) if one cannot be applied.
bool SetUpProcess(const tfpm::config::DaemonConfig& d) {
  if (auto st = tfpm::log::Init(d.error_log, ToLogLevel(d.log_level)); !st.ok()) {
    std::fprintf(stderr, "tfpm: %s\n", st.message().c_str());
    return false;
  }
  tfpm::log::SetLineLimit(d.log_limit);
  // Descriptors: each kept connection of a worker takes one, and the soft
  // limit inherited from a shell or systemd is often 1024. Read at start
  // only; the workers inherit it (a reload does not change it).
  uint64_t files = 0;
  if (auto st = tfpm::os::SetFileLimit(d.rlimit_files, &files); !st.ok()) {
    tfpm::log::Alert("rlimit_files: {}", st.message());
    return false;
  }
  tfpm::log::Debug("descriptor limit (RLIMIT_NOFILE): {}", files);
  // php-fpm's global rlimit_core: the daemon's and so its workers'.
  if (d.rlimit_core != 0) {
    tfpm::os::SystemCredentials credentials;
    const uint64_t core = d.rlimit_core == tfpm::config::kRlimitUnlimited ? tfpm::os::kUnlimited : d.rlimit_core;
    if (auto st = credentials.SetResourceLimit(tfpm::os::Resource::kCore, core); !st.ok()) {
      tfpm::log::Alert("rlimit_core: {}", st.message());
      return false;
    }
  }
  return true;
}

tfpm::supervisor::SupervisorOptions MakeOptions(daemon::ConfigSource& src, const daemon::CommandLine& cl,
                                                tfpm::os::StartReport* report) {
  tfpm::supervisor::SupervisorOptions options;
  options.worker_executable = WorkerExecutable();
  options.config_text = src.text;
  // Reload re-reads this file: absolute, whatever the working directory.
  options.config_path = cl.config_path.empty() ? "" : std::filesystem::absolute(cl.config_path).string();
  options.reread_config = std::move(src.reread);
  options.import_config = std::move(src.import);
  options.check = [allow_root = cl.allow_root](const tfpm::config::Config& c, bool dry_run,
                                               std::vector<std::string>* warnings) {
    if (Status st = daemon::CheckFiles(c, dry_run ? daemon::DryRun::kYes : daemon::DryRun::kNo); !st.ok()) {
      return st;
    }
    return daemon::CheckIsolation(c, allow_root, warnings);
  };
  if (std::getenv("NOTIFY_SOCKET") != nullptr) {
    options.notify = [](std::string_view m) { tfpm::os::SdNotify(m); };
    options.watchdog = tfpm::os::SdWatchdogInterval();
  }
  options.activated_fds = tfpm::os::SdListenFds();
  const bool log_to_stderr = src.config.daemon.error_log == "stderr";
  options.on_ready = [report, log_to_stderr](const Status& st) {
    if (st.ok()) tfpm::os::SdNotify("READY=1\nSTATUS=serving");
    // Detached from the terminal from now on (as php-fpm): stdout always,
    // stderr unless it is the configured log.
    report->Send(st.ok(), log_to_stderr);
  };
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = daemon::ParseCommandLine(std::span<char* const>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    std::fputs(parsed.status().message().c_str(), stderr);
    return 2;
  }
  daemon::CommandLine& cl = *parsed;
  if (cl.answer != daemon::CommandLine::Answer::kNone) return Answer(cl.answer);
  if (cl.fpm_mode && cl.fpm.config.empty()) {
    std::fprintf(stderr, "tfpm: --fpm-config needs a file\n");
    return 2;
  }
  auto src = daemon::LoadConfigSource(cl);
  if (!src.ok()) {
    std::fputs(src.status().message().c_str(), stderr);
    return 1;
  }
  std::vector<std::string> warnings;
  Status checked = daemon::CheckFiles(src->config, daemon::DryRun::kNo);
  if (checked.ok() && cl.php_cli.empty()) checked = daemon::CheckIsolation(src->config, cl.allow_root, &warnings);
  if (!checked.ok()) {
    std::fprintf(stderr, "%s\n", src->translate(checked.message()).c_str());
    return 1;
  }
  for (const auto& w : warnings) std::fprintf(stderr, "WARNING: %s\n", w.c_str());
  if (cl.test) {
    if (cl.fpm_mode) {
      std::fprintf(stderr, "NOTICE: configuration file %s test is successful\n", src->source.c_str());
    } else {
      std::printf("configuration file %s test is successful\n", src->source.c_str());
    }
    return 0;
  }
  if (!cl.php_cli.empty()) return RunPhpCli(cl);
  if (!SetUpProcess(src->config.daemon)) return 1;

  // Daemonize as php-fpm does by default: the parent waits until the workers
  // are ready (or failed) and exits with that result.
  tfpm::os::StartReport report;
  if (!src->foreground) {
    auto detached = tfpm::os::DetachFromTerminal();
    if (!detached.ok()) {
      std::fprintf(stderr, "tfpm: %s\n", detached.status().message().c_str());
      return 1;
    }
    if (detached->in_parent) return detached->parent_exit_code;
    report = std::move(detached->report);
  }
  tfpm::os::BoostSpawner spawner;
  tfpm::os::SystemClock clock;
  auto options = MakeOptions(*src, cl, &report);
  tfpm::supervisor::Supervisor supervisor(std::move(src->config), std::move(options), &spawner, &clock);
  if (auto st = supervisor.Start(); !st.ok()) {
    tfpm::log::Alert("{}", st.message());
    report.Fail();
    return 1;
  }
  const int code = supervisor.Run();
  tfpm::os::SdNotify("STOPPING=1");
  return code;
}
