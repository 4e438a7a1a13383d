#include "worker/runtime_options.h"

#include <unistd.h>

#include "config/builtin_php_ini.h"
#include "os/this_process.h"
#include "tfpm_build_config.h"

namespace tfpm::worker {
namespace {

// access(2) allows it; a refusal, a missing path or any error: no.
bool Readable(const std::string& path, int mode) {
  auto allowed = os::Accessible(path, mode);
  return allowed.ok() && *allowed;
}

}  // namespace

sapi::RuntimeOptions RuntimeOptionsFor(const config::Config& cfg, const config::PoolConfig& pool,
                                       const std::string& inherited_scan_dir) {
  sapi::RuntimeOptions o;
  o.sapi_name = pool.sapi_name;
  // As PHP's compiled-in config path and scan directory, for an installed
  // tfpm: <sysconfdir>/tfpm/php.ini and <sysconfdir>/tfpm/conf.d.
  const std::string etc = std::string(TFPM_SYSCONFDIR) + "/tfpm";
  if (cfg.php.ini_file.has_value()) {
    o.ini_file = *cfg.php.ini_file;
  } else if (Readable(etc + "/php.ini", R_OK)) {
    o.ini_file = etc + "/php.ini";
  } else {
    o.ini_text = std::string(config::BuiltinPhpIni());
  }
  if (cfg.php.scan_dir.has_value()) {
    o.scan_dir = *cfg.php.scan_dir;
  } else if (!inherited_scan_dir.empty()) {
    o.scan_dir = inherited_scan_dir;
  } else if (Readable(etc + "/conf.d", X_OK)) {
    o.scan_dir = etc + "/conf.d";
  }
  o.extensions_by_name = cfg.php.extensions_by_name;
  o.ini_max_file_size = cfg.php.ini_max_file_size;
  o.ini_max_files = static_cast<size_t>(cfg.php.ini_max_files);
  o.ini = cfg.php.ini;
  o.ini.insert(o.ini.end(), pool.php_value.begin(), pool.php_value.end());
  o.ini.insert(o.ini.end(), pool.php_admin_value.begin(), pool.php_admin_value.end());
  for (const auto& [k, v] : pool.php_admin_value) o.admin_keys.push_back(k);
  o.limit_extensions = pool.limit_extensions;
  o.ping_path = pool.ping_path;
  o.ping_response = pool.ping_response;
  o.status_path = pool.status_path;
  o.user_ini_cache_entries = static_cast<size_t>(pool.user_ini_cache_entries);
  return o;
}

}  // namespace tfpm::worker
