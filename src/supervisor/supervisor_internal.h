// What the .cc files that define Supervisor's members share, and nothing
// else includes: the epoll tokens of the event loop, the loop's timings, and
// small helpers. Not a contract for other units.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "base/status.h"
#include "ipc/worker_process.h"
#include "config/config.h"
#include "os/clock.h"
#include "os/socket.h"
#include "os/unique_fd.h"

namespace tfpm::supervisor {

// epoll tokens: kind in the top byte, an fd or pid below.
enum TokenKind : uint64_t {
  kSignal = 1,
  kControlListen = 2,
  kControlClient = 3,
  kNotify = 4,
  kOutput = 5,
  kFailedListen = 6,  // a failed pool's listening socket (fd)
  kUnavailable = 7,   // a connection the supervisor answers 503 (fd)
  kStatusListen = 8,  // a pool's status listener (status_listen) (fd)
  kStatusClient = 9,  // a connection on a status listener (fd)
};
constexpr uint64_t Token(TokenKind kind, uint64_t id) { return (static_cast<uint64_t>(kind) << 56) | id; }
inline TokenKind KindOf(uint64_t token) { return static_cast<TokenKind>(token >> 56); }
inline uint64_t IdOf(uint64_t token) { return token & ((1ull << 56) - 1); }

// Descriptor numbers in a worker: ipc/worker_process.h.
namespace wc = ipc;

// A fast stop: SIGKILL for workers still alive after this.
inline constexpr std::chrono::milliseconds kFastStopGrace{2000};
// A drain: SIGKILL after process_control_timeout plus this.
inline constexpr std::chrono::milliseconds kGracefulExtra{2000};
// How long a new generation may take to become ready before the reload is
// rolled back.
inline constexpr std::chrono::milliseconds kTransitionTimeout{60000};
// How long a reload's answer waits for the old workers to confirm that they
// stopped accepting.
inline constexpr std::chrono::milliseconds kDrainAckTimeout{5000};
// How often STATUS= goes to systemd.
inline constexpr std::chrono::milliseconds kStatusInterval{5000};
// How often pm dynamic/ondemand pools are checked for a process to add or stop.
inline constexpr std::chrono::milliseconds kScaleInterval{100};
// catch_workers_output: bytes read from one worker per wake-up of the loop,
// and after its exit.
inline constexpr size_t kMaxOutputPerWake = 64 * 1024;
inline constexpr size_t kMaxOutputAfterExit = 1024 * 1024;

inline double Seconds(os::TimePoint from, os::TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}

// A log file a worker is handed (access_log, slowlog, error_log): opened
// here, for appending, created mode 0600 as php-fpm's master does
// (worker_logs.cc).
Result<os::UniqueFd> OpenLogForWorkers(const std::string& path, const char* what);
// A listening socket at `address` with the pool's listen options (backlog,
// unix socket mode, owner, group, ACLs), its parent directories made for a
// unix socket; errors read "pool NAME: <what><why>" (listeners.cc: the
// pool's socket and its status listener).
Result<os::UniqueFd> ListenAsPool(const config::PoolConfig& pc, const os::ListenAddress& address,
                                  const std::string& what);

// Each pool's config text (config::PoolConfigText) of `config`, loaded from
// `text` (generations.cc).
Result<std::map<std::string, std::string>> PoolTexts(const config::Config& config, const std::string& text);

}  // namespace tfpm::supervisor
