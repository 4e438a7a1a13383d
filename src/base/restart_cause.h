// Why a PHP thread's interpreter (worker mode: its run of the worker
// script) or a worker process ended and was started again. The one list of
// causes: the worker counts them in its scoreboard header, the supervisor
// sums them per pool, the status page and `pm-ctl status` show them under
// these names. Header-only so every reader uses the same names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tfpm::base {

enum class RestartCause : uint32_t {
  kCrash = 0,    // a fatal error (or a crash) ended it
  kExit,         // exit() / die(), or the worker script returned on its own
  kMaxRequests,  // max_requests reached
  kMemory,       // memory_recycle exceeded after a request
  kWatch,        // a watched file changed (worker mode `watch`)
  kReload,       // its process drained: reload, pm-ctl restart, scale-down
  kTimeout,      // max_execution_time / request_terminate_timeout
  kRecycle,      // a classic thread's interpreter recycled (after a fatal error, ...)
  kCount,
};
inline constexpr size_t kRestartCauseCount = static_cast<size_t>(RestartCause::kCount);

// The exit code of a worker process that left because a thread did not come
// back from request_terminate_timeout (EX_TEMPFAIL): the worker exits with
// it, the supervisor counts the exit as kTimeout.
inline constexpr int kExitStuckThread = 75;

// Names, in enum order: `key` for JSON and metrics (prefixed "restarts_"
// there), `label` for the status page's text and HTML formats.
struct RestartCauseName {
  std::string_view key, label;
};
inline constexpr RestartCauseName kRestartCauseNames[kRestartCauseCount] = {
    {"crash", "restarts crash"},         {"exit", "restarts exit"},
    {"max_requests", "restarts max requests"}, {"memory", "restarts memory"},
    {"watch", "restarts watch"},         {"reload", "restarts reload"},
    {"timeout", "restarts timeout"},     {"recycle", "restarts recycle"},
};
inline std::string_view RestartCauseKey(RestartCause c) { return kRestartCauseNames[static_cast<size_t>(c)].key; }
inline std::string_view RestartCauseLabel(RestartCause c) {
  return kRestartCauseNames[static_cast<size_t>(c)].label;
}

}  // namespace tfpm::base
