#include "worker/php_cli.h"

#include <cstdio>
#include <cstdlib>

#include "config/default_config.h"
#include "config/load_yaml.h"
#include "sapi/php_embed.h"
#include "worker/runtime_options.h"

namespace tfpm::worker {
namespace {

void PrintModules() {
  std::printf("[PHP Modules]\n");
  for (const auto& m : sapi::PhpRuntime::LoadedModules()) std::printf("%s\n", m.c_str());
  std::printf("\n[Zend Modules]\n");
  for (const auto& m : sapi::PhpRuntime::ZendExtensions()) std::printf("%s\n", m.c_str());
}

// php --ini's layout.
void PrintIni() {
  const auto files = sapi::PhpRuntime::LoadedIniFiles();
  std::printf("Loaded Configuration File:         %s\n", files.loaded.empty() ? "(none)" : files.loaded.c_str());
  std::printf("Scan for additional .ini files in: %s\n", files.scan_dir.empty() ? "(none)" : files.scan_dir.c_str());
  std::printf("Additional .ini files parsed:      ");
  if (files.scanned.empty()) std::printf("(none)\n");
  for (size_t i = 0; i < files.scanned.size(); ++i) {
    std::printf("%s%s\n", files.scanned[i].c_str(), i + 1 < files.scanned.size() ? "," : "");
  }
}

}  // namespace

int RunPhpCli(PhpCliMode mode, const std::string& config_path) {
  auto cfg = config_path.empty()
                 ? config::LoadConfigString(config::EmbeddedDefaultConfig(), config::kBuiltInSourceName)
                 : config::LoadConfigFile(config_path);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.status().message().c_str());
    return 1;
  }
  const char* scan_env = std::getenv("PHP_INI_SCAN_DIR");
  sapi::RuntimeOptions o = RuntimeOptionsFor(*cfg, cfg->pools.front(), scan_env ? scan_env : "");
  if (Status st = sapi::PhpRuntime::Startup(o); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    return 1;
  }
  switch (mode) {
    case PhpCliMode::kModules: PrintModules(); break;
    case PhpCliMode::kIni: PrintIni(); break;
    case PhpCliMode::kInfo: sapi::PhpRuntime::PrintInfo(); break;
    case PhpCliMode::kNone: break;
  }
  std::fflush(stdout);
  sapi::PhpRuntime::Shutdown();
  return 0;
}

}  // namespace tfpm::worker
