// The configuration tfpm runs with when no --config is given.
#pragma once

#include <string>

namespace tfpm::config {

// Source name to pass to LoadConfigString for the embedded default.
inline constexpr const char kBuiltInSourceName[] = "<built-in>";

// The built-in YAML: logs to stderr at notice, no pid file, control socket
// /run/tfpm/tfpm.sock, one classic pool `www` on 127.0.0.1:9000 with
// 1 process x 4 threads, php ini memory_limit 128M.
std::string EmbeddedDefaultConfig();

}  // namespace tfpm::config
