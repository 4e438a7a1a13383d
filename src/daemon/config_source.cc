#include "daemon/config_source.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "base/log.h"
#include "config/default_config.h"
#include "config/fpm_load.h"
#include "config/load_yaml.h"
#include "os/file_info.h"
#include "os/shared_memory.h"
#include "os/this_process.h"

namespace tfpm::daemon {
namespace {

std::string DirectoryOf(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// php.ini as php-fpm chooses it: -c (a file, or a directory holding
// php.ini), else $PHPRC, else the compiled-in directory, which for
// Debian's php-fpm is the one holding php-fpm.conf.
Status ChoosePhpIni(FpmArgs* f) {
  if (f->no_ini) return Status::Ok();
  auto from = [&](const std::string& where, const char* what) {
    if (os::IsDirectory(where)) {
      f->import.php_ini = os::IsRegularFile(where + "/php.ini") ? where + "/php.ini" : "";
      return Status::Ok();
    }
    if (os::IsRegularFile(where)) {
      f->import.php_ini = where;
      return Status::Ok();
    }
    return Status::NotFound(std::string(what) + " " + where + ": no such file or directory");
  };
  if (!f->ini_arg.empty()) return from(f->ini_arg, "-c");
  if (const char* rc = std::getenv("PHPRC"); rc != nullptr && *rc != '\0') return from(rc, "PHPRC");
  const std::string beside = DirectoryOf(f->config) + "/php.ini";
  if (os::IsRegularFile(beside)) f->import.php_ini = std::filesystem::absolute(beside).string();
  return Status::Ok();
}

// PHP's scan directory as Debian's php-fpm finds it: $PHP_INI_SCAN_DIR
// (the workers inherit it), else its compiled-in one, which is conf.d
// beside php-fpm.conf (/etc/php/8.2/fpm/conf.d), whichever php.ini -c
// chose. -n reads none, as php -n.
void ChooseScanDir(FpmArgs* f) {
  if (f->no_ini) return;
  if (std::getenv("PHP_INI_SCAN_DIR") != nullptr) return;
  const std::string dir = DirectoryOf(f->config) + "/conf.d";
  if (os::IsDirectory(dir)) f->import.scan_dir = std::filesystem::absolute(dir).string();
}

Result<ConfigSource> LoadFromFpm(FpmArgs& fpm) {
  // Relative names stay valid after the daemon changes directory.
  fpm.config = std::filesystem::absolute(fpm.config).string();
  if (Status st = ChoosePhpIni(&fpm); !st.ok()) return Status::InvalidArgument("tfpm: " + st.message() + "\n");
  ChooseScanDir(&fpm);
  fpm.import.running_as_root = os::EffectiveUid() == 0;
  if (const char* cs = std::getenv("TFPM_CONTROL_SOCKET"); cs != nullptr && *cs != '\0') {
    fpm.import.control_socket = cs;
  }
  auto loaded = config::LoadFpmConfig(fpm.config, fpm.import);
  if (!loaded.ok()) {
    return Status::InvalidArgument("ERROR: " + loaded.status().message() +
                                   "\nERROR: failed to load configuration file '" + fpm.config + "'\n");
  }
  for (const auto& w : loaded->warnings) std::fprintf(stderr, "WARNING: %s\n", w.c_str());
  for (const auto& n : loaded->notes) std::fprintf(stderr, "NOTICE: %s\n", n.text.c_str());
  if (!fpm.import.php_ini.empty()) std::fprintf(stderr, "NOTICE: php.ini: %s\n", fpm.import.php_ini.c_str());
  if (!fpm.import.scan_dir.empty()) {
    std::fprintf(stderr, "NOTICE: scan directory: %s\n", fpm.import.scan_dir.c_str());
  }
  ConfigSource s{std::move(loaded->config)};
  s.foreground = fpm.nodaemonize || (!fpm.daemonize && !loaded->daemonize);
  s.text = std::move(loaded->yaml);
  s.source = fpm.config;
  s.translate = loaded->translate;
  s.reread = [path = fpm.config, options = fpm.import]() -> Result<std::string> {
    auto again = config::LoadFpmConfig(path, options);
    if (!again.ok()) return again.status();
    for (const auto& n : again->notes) log::Notice("{}", n.text);
    return std::move(again->yaml);
  };
  s.import = [options = fpm.import](const std::string& path,
                                    const config::fpm::FileRule& accept) -> Result<std::string> {
    config::fpm::CheckedFiles files(config::kMaxConfigBytes, accept);
    auto imported = config::LoadFpmConfig(path, options, files);
    if (!imported.ok()) return imported.status();
    return std::move(imported->yaml);
  };
  return s;
}

Result<ConfigSource> LoadFromYaml(const std::string& path, bool foreground) {
  std::string text = config::EmbeddedDefaultConfig();
  std::string source = "<built-in>";
  if (!path.empty()) {
    auto read = os::ReadRegularFile(path, config::kMaxConfigBytes);
    if (!read.ok()) return Status::InvalidArgument("tfpm: " + read.status().message() + "\n");
    text = std::move(read.value());
    source = path;
  }
  auto cfg = config::LoadConfigString(text, source);
  if (!cfg.ok()) return Status::InvalidArgument(cfg.status().message() + "\n");
  ConfigSource s{std::move(cfg.value())};
  s.text = std::move(text);
  s.source = std::move(source);
  s.foreground = foreground;
  return s;
}

}  // namespace

Result<ConfigSource> LoadConfigSource(CommandLine& cl) {
  return cl.fpm_mode ? LoadFromFpm(cl.fpm) : LoadFromYaml(cl.config_path, cl.foreground);
}

}  // namespace tfpm::daemon
