#include "base/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <atomic>
#include <mutex>

namespace tfpm::log {
namespace {

// php-fpm's level names in upper case, as its log lines show them.
class LevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view name;
    switch (msg.level) {
      case spdlog::level::critical: name = "ALERT"; break;
      case spdlog::level::err: name = "ERROR"; break;
      case spdlog::level::warn: name = "WARNING"; break;
      case spdlog::level::info: name = "NOTICE"; break;
      default: name = "DEBUG"; break;
    }
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelFlag>();
  }
};

struct State {
  std::mutex mu;  // guards target and the logger's construction
  std::string target = "stderr";
  std::string pattern;
  size_t fixed_prefix = 0;  // the pattern's bytes besides the level name
  std::shared_ptr<spdlog::sinks::dist_sink_mt> dist =
      std::make_shared<spdlog::sinks::dist_sink_mt>();
  std::shared_ptr<spdlog::logger> logger;
};

State& GetState() {
  static State* state = [] {
    auto* s = new State;  // never destroyed: worker threads may log during exit
    s->dist->add_sink(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    s->logger = std::make_shared<spdlog::logger>("tfpm", s->dist);
    s->logger->set_level(spdlog::level::info);
    return s;
  }();
  return *state;
}

Result<spdlog::sink_ptr> MakeSink(const std::string& target) {
  if (target == "stderr") return spdlog::sink_ptr(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (target.rfind("fd:", 0) == 0 || target.rfind("file-fd:", 0) == 0) {
    // An inherited descriptor: a worker writing to the supervisor's stderr
    // ("fd:N"), or to the error_log file the supervisor opened for it
    // ("file-fd:N", replaced under the same number by reopen-logs).
    FILE* file = ::fdopen(std::atoi(target.c_str() + target.find(':') + 1), "a");
    if (file == nullptr) return Status::IoError("error_log " + target + ": fdopen failed");
    return spdlog::sink_ptr(
        std::make_shared<spdlog::sinks::stdout_sink_base<spdlog::details::console_mutex>>(file));
  }
  try {
    return spdlog::sink_ptr(std::make_shared<spdlog::sinks::basic_file_sink_mt>(target, false));
  } catch (const spdlog::spdlog_ex& e) {
    return Status::IoError("error_log " + target + ": " + e.what());
  }
}

void ApplyPattern(State& s) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<LevelFlag>('*').set_pattern(s.pattern);
  s.dist->set_formatter(std::move(formatter));
}

}  // namespace

namespace detail {
spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kAlert: return spdlog::level::critical;
    case Level::kError: return spdlog::level::err;
    case Level::kWarning: return spdlog::level::warn;
    case Level::kNotice: return spdlog::level::info;
    case Level::kDebug: return spdlog::level::debug;
  }
  return spdlog::level::info;
}
}  // namespace detail

bool ParseLevel(std::string_view name, Level* out) {
  static constexpr std::pair<std::string_view, Level> kNames[] = {
      {"alert", Level::kAlert}, {"error", Level::kError}, {"warning", Level::kWarning},
      {"notice", Level::kNotice}, {"debug", Level::kDebug}};
  for (const auto& [n, l] : kNames) {
    if (n == name) { *out = l; return true; }
  }
  return false;
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kAlert: return "alert";
    case Level::kError: return "error";
    case Level::kWarning: return "warning";
    case Level::kNotice: return "notice";
    case Level::kDebug: return "debug";
  }
  return "notice";
}

Status Init(const std::string& target, Level level, std::string tag) {
  State& s = GetState();
  std::lock_guard lock(s.mu);
  auto sink = MakeSink(target);
  if (!sink.ok()) return sink.status();
  s.target = target;
  const bool journald = (target == "stderr" || target.rfind("fd:", 0) == 0) && std::getenv("JOURNAL_STREAM") != nullptr;
  s.pattern = journald ? "" : "[%d-%b-%Y %H:%M:%S.%e] ";
  s.pattern += "%*: ";
  if (!tag.empty()) s.pattern += "[" + tag + "] ";
  s.pattern += "%v";
  s.fixed_prefix = (journald ? 0 : std::string_view("[22-Nov-2026 22:00:00.123] ").size()) + 2 +
                   (tag.empty() ? 0 : tag.size() + 3);
  s.dist->set_sinks({*sink});
  ApplyPattern(s);
  s.logger->set_level(detail::ToSpd(level));
  s.logger->flush_on(spdlog::level::trace);  // one write(2) per line: lines from processes never interleave
  return Status::Ok();
}

Status Reopen() {
  State& s = GetState();
  std::lock_guard lock(s.mu);
  if (s.target == "stderr" || s.target.rfind("fd:", 0) == 0 || s.target.rfind("file-fd:", 0) == 0) {
    return Status::Ok();
  }
  auto sink = MakeSink(s.target);
  if (!sink.ok()) return sink.status();
  s.dist->set_sinks({*sink});
  ApplyPattern(s);
  return Status::Ok();
}

void SetLevel(Level level) { GetState().logger->set_level(detail::ToSpd(level)); }

bool Enabled(Level level) { return GetState().logger->should_log(detail::ToSpd(level)); }

spdlog::logger& Logger() { return *GetState().logger; }

namespace {
std::atomic<size_t> g_line_limit{1024};
}

void SetLineLimit(size_t limit) { g_line_limit.store(limit, std::memory_order_relaxed); }

size_t LineLimit() { return g_line_limit.load(std::memory_order_relaxed); }

size_t PrefixLength(Level level) {
  std::string_view name;
  switch (level) {
    case Level::kAlert: name = "ALERT"; break;
    case Level::kError: name = "ERROR"; break;
    case Level::kWarning: name = "WARNING"; break;
    case Level::kNotice: name = "NOTICE"; break;
    case Level::kDebug: name = "DEBUG"; break;
  }
  State& s = GetState();
  std::lock_guard lock(s.mu);
  return s.fixed_prefix + name.size();
}

std::string FitMessage(Level level, std::string_view message) {
  const size_t limit = LineLimit();
  const size_t prefix = PrefixLength(level);
  if (prefix + message.size() < limit) return std::string(message);
  const size_t keep = limit > prefix + 4 ? limit - 1 - prefix - 3 : 0;
  return std::string(message.substr(0, keep)) + "...";
}

std::vector<std::string_view> WrapPieces(std::string_view text, size_t room) {
  std::vector<std::string_view> pieces;
  if (room == 0) room = 1;
  do {
    pieces.push_back(text.substr(0, room));
    text.remove_prefix(std::min(room, text.size()));
  } while (!text.empty());
  return pieces;
}

}  // namespace tfpm::log
