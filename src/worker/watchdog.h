// Watchdog: the pool's request timeouts, run by the worker process's main
// thread a few times a second (no PHP on that thread; it acts through
// sapi::RunningRequests/TerminateRequest/CaptureBacktrace).
//
//  * request_slowlog_timeout: once per request that runs longer, one slowlog
//    entry with the PHP backtrace (php-fpm's format, plus thread and URI).
//  * request_terminate_timeout: the request is ended (504 to the client if
//    nothing was sent yet); the thread is kicked again every 50 ms until it
//    comes back. A thread that has not come back after the grace period is
//    "stuck": the process then stops accepting and is replaced.
//
// Thread-safety: main thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "scoreboard/scoreboard.h"

namespace tfpm::worker {

struct WatchdogOptions {
  std::string pool;
  std::chrono::milliseconds terminate{0};  // 0 = off
  bool track_finished = false;             // count time after fastcgi_finish_request()
  std::chrono::milliseconds slowlog{0};    // 0 = off
  std::string slowlog_path;
  // The slowlog opened by the supervisor (ipc/worker_process.h), written
  // with one write(2) per entry; -1 = open slowlog_path for each entry.
  int slowlog_fd = -1;
  int trace_depth = 20;
  std::chrono::milliseconds grace{2000};
};

// What the main thread needs of the request timeouts (an interface so its
// decisions are unit-tested with a fake; Watchdog is the real one).
class RequestTimeouts {
 public:
  virtual ~RequestTimeouts() = default;
  virtual bool enabled() const = 0;
  // How often Tick() should run.
  virtual std::chrono::milliseconds interval() const = 0;
  virtual void Tick() = 0;
  // Threads that did not come back within the grace period.
  virtual int stuck() const = 0;
};

class Watchdog final : public RequestTimeouts {
 public:
  Watchdog(WatchdogOptions options, scoreboard::Segment* board);

  bool enabled() const override { return options_.terminate.count() > 0 || options_.slowlog.count() > 0; }
  std::chrono::milliseconds interval() const override { return std::chrono::milliseconds(50); }
  void Tick() override;
  int stuck() const override { return stuck_; }

 private:
  struct Tracked {
    uint64_t seq = 0;
    bool slowlogged = false;
    int64_t terminated_us = 0;  // first TerminateRequest, steady clock
    int64_t kicked_us = 0;
    bool stuck = false;
    bool seen = false;
  };
  void WriteSlowlog(int index, const std::string& trace);

  const WatchdogOptions options_;
  scoreboard::Segment* board_;
  std::unordered_map<int, Tracked> threads_;
  int stuck_ = 0;
};

}  // namespace tfpm::worker
