// Logging for every tfpm process: php-fpm's levels over spdlog.
//
// One process-wide logger, configured once by Init() from the process's main
// thread before other threads start. Logging functions are thread-safe and
// may be called from any thread (PHP threads log concurrently). Reopen() is
// thread-safe too: the sink is swapped under spdlog's dist_sink mutex, so a
// SIGUSR1 after logrotate never loses or tears a line.
//
// Line format, as php-fpm's: "[22-Nov-2026 22:00:00.123] NOTICE: [www] text".
// Under systemd (JOURNAL_STREAM set, target stderr) the timestamp is left
// out, because journald adds its own.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace tfpm::log {

enum class Level { kAlert, kError, kWarning, kNotice, kDebug };

// "alert" | "error" | "warning" | "notice" | "debug"; false if unknown.
bool ParseLevel(std::string_view name, Level* out);
std::string_view LevelName(Level level);

// target: "stderr", "fd:N" (an inherited descriptor: a stream, e.g. the
// supervisor's stderr), "file-fd:N" (an inherited descriptor of a log file:
// always timestamped) or a file path
// (opened for append).
// tag: prefixed to every line, e.g. "" for the supervisor, "www 1234" for a worker.
Status Init(const std::string& target, Level level, std::string tag = "");
// Reopens the file target (after logrotate renamed it). No-op for stderr.
Status Reopen();
void SetLevel(Level level);
bool Enabled(Level level);

spdlog::logger& Logger();

// php-fpm's log_limit: the longest line (without its '\n') that a PHP
// message or a worker's captured output makes, counted with the line's
// prefix (time, level, tag). Default 1024. Set once at start.
void SetLineLimit(size_t limit);
size_t LineLimit();
// Bytes the line prefix takes before the message at `level`.
size_t PrefixLength(Level level);
// A message cut as php-fpm's zlog cuts one: when prefix + message would
// reach the limit, the message keeps what fits in limit - 1 bytes of line,
// its last three replaced by "...".
std::string FitMessage(Level level, std::string_view message);
// Pieces of `text` for wrapped lines as php-fpm's catch_workers_output
// writes them: each piece at most `room` bytes (room >= 1).
std::vector<std::string_view> WrapPieces(std::string_view text, size_t room);

namespace detail {
spdlog::level::level_enum ToSpd(Level level);
}

template <typename... Args>
void Write(Level level, fmt::format_string<Args...> format, Args&&... args) {
  Logger().log(detail::ToSpd(level), format, std::forward<Args>(args)...);
}
template <typename... Args>
void Alert(fmt::format_string<Args...> f, Args&&... a) { Write(Level::kAlert, f, std::forward<Args>(a)...); }
template <typename... Args>
void Error(fmt::format_string<Args...> f, Args&&... a) { Write(Level::kError, f, std::forward<Args>(a)...); }
template <typename... Args>
void Warning(fmt::format_string<Args...> f, Args&&... a) { Write(Level::kWarning, f, std::forward<Args>(a)...); }
template <typename... Args>
void Notice(fmt::format_string<Args...> f, Args&&... a) { Write(Level::kNotice, f, std::forward<Args>(a)...); }
template <typename... Args>
void Debug(fmt::format_string<Args...> f, Args&&... a) { Write(Level::kDebug, f, std::forward<Args>(a)...); }

}  // namespace tfpm::log
