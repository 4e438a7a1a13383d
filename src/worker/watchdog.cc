#include "worker/watchdog.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "base/clock.h"
#include "base/log.h"
#include "base/utf8.h"
#include "os/fd_io.h"
#include "os/this_process.h"
#include "os/unique_fd.h"
#include "sapi/php_embed.h"

namespace tfpm::worker {
namespace {

std::string LocalTime() {
  char buf[64];
  std::time_t t = std::time(nullptr);
  std::tm tm;
  localtime_r(&t, &tm);
  std::strftime(buf, sizeof(buf), "%d-%b-%Y %H:%M:%S", &tm);
  return buf;
}

}  // namespace

Watchdog::Watchdog(WatchdogOptions options, scoreboard::Segment* board)
    : options_(std::move(options)), board_(board) {}

void Watchdog::Tick() {
  const int64_t now = base::MonotonicMicros();
  for (auto& [index, t] : threads_) t.seen = false;
  for (const sapi::RunningRequest& r : sapi::RunningRequests()) {
    Tracked& t = threads_[r.index];
    if (t.seq != r.seq) {
      if (t.stuck) --stuck_;
      t = Tracked{};
      t.seq = r.seq;
    }
    t.seen = true;
    const auto elapsed = std::chrono::microseconds(now - r.started_us);
    if (options_.slowlog.count() > 0 && !t.slowlogged && elapsed >= options_.slowlog) {
      t.slowlogged = true;
      const std::string trace = sapi::CaptureBacktrace(r.index, r.seq, options_.trace_depth);
      if (!trace.empty()) {
        WriteSlowlog(r.index, trace);
        if (board_) board_->header()->slow_requests.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (options_.terminate.count() == 0 || elapsed < options_.terminate) continue;
    if (r.finished && !options_.track_finished) continue;
    if (t.terminated_us == 0) {
      if (!sapi::TerminateRequest(r.index, r.seq)) continue;
      t.terminated_us = t.kicked_us = now;
      if (board_) board_->header()->terminated_requests.fetch_add(1, std::memory_order_relaxed);
      scoreboard::ThreadSnapshot snap;
      std::string uri;
      if (board_ && scoreboard::ReadSlot(*board_->slot(static_cast<uint32_t>(r.index)), &snap)) uri = snap.uri;
      log::Warning("thread {}: request {} exceeded request_terminate_timeout ({} ms); terminating it", r.index,
                   base::EscapeForLog(uri), options_.terminate.count());
    } else if (now - t.kicked_us >= 50'000) {
      t.kicked_us = now;
      (void)sapi::TerminateRequest(r.index, r.seq);
    }
    if (!t.stuck && now - t.terminated_us >= std::chrono::microseconds(options_.grace).count()) {
      t.stuck = true;
      ++stuck_;
      log::Alert("thread {}: the terminated request has not come back after {} ms; this process stops "
                 "accepting and will be replaced",
                 r.index, options_.grace.count());
    }
  }
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (!it->second.seen) {
      if (it->second.stuck) --stuck_;
      it = threads_.erase(it);
    } else {
      ++it;
    }
  }
}

void Watchdog::WriteSlowlog(int index, const std::string& trace) {
  scoreboard::ThreadSnapshot snap;
  if (board_) (void)scoreboard::ReadSlot(*board_->slot(static_cast<uint32_t>(index)), &snap);
  std::string entry = "\n[" + LocalTime() + "]  [pool " + options_.pool + "] pid " + std::to_string(os::CurrentPid()) +
                      " thread " + std::to_string(index) + "\n";
  entry += "request_uri = " + base::EscapeForLog(snap.uri) + "\n";
  entry += "script_filename = " + base::EscapeForLog(snap.script) + "\n";
  entry += trace;
  os::UniqueFd opened;
  int fd = options_.slowlog_fd;
  if (fd < 0) {
    auto file = os::OpenForAppend(options_.slowlog_path, 0600);
    if (!file.ok()) {
      log::Error("slowlog {}", file.status().message());
      return;
    }
    opened = std::move(file.value());
    fd = opened.get();
  }
  // One write per entry: entries of several processes do not interleave.
  if (auto written = os::WriteSome(fd, entry); !written.ok()) {
    log::Error("slowlog {}: {}", options_.slowlog_path, written.status().message());
  }
  log::Warning("thread {}: request {} is slow (request_slowlog_timeout {} ms); backtrace in {}", index,
               base::EscapeForLog(snap.uri),
               options_.slowlog.count(), options_.slowlog_path);
}

}  // namespace tfpm::worker
