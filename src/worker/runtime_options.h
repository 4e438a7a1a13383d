#pragma once
// What a worker process hands PHP at MINIT, computed from the config.

#include <string>

#include "config/config.h"
#include "sapi/php_embed.h"

namespace tfpm::worker {

// `inherited_scan_dir` is $PHP_INI_SCAN_DIR as the worker was started (before
// clear_env): used when the config has no `php.scan_dir`.
sapi::RuntimeOptions RuntimeOptionsFor(const config::Config& cfg, const config::PoolConfig& pool,
                                       const std::string& inherited_scan_dir);

}  // namespace tfpm::worker
