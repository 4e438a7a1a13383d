#include "worker/php_threads.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "base/clock.h"
#include "base/log.h"
#include "fastcgi/exchange.h"
#include "os/memory_trim.h"
#include "sapi/php_embed.h"
#include "worker/idle_trim.h"
#include "worker/process_recycler.h"
#include "worker/scoreboard_request.h"

namespace tfpm::worker {
namespace {

// Per-request CPU time for the status page's "last request cpu". Reading a
// thread's CPU clock is a system call (about 1-4 us on a VM here, twice per
// request), so it is measured only when the pool has a status page. Set
// before the PHP threads start; read-only after.
bool g_measure_cpu = false;  // see SetMeasureCpu

int64_t CpuNow() { return g_measure_cpu ? scoreboard::ThreadCpuNanos() : 0; }

void BeginRequest(scoreboard::SlotWriter& w, const Connection& c) {
  scoreboard::SlotWriter::Request r;
  ReadScoreboardRequest(c.params(), r);
  if (c.arrival_us != 0) r.wait_us = std::max<int64_t>(0, base::MonotonicMicros() - c.arrival_us);
  w.BeginRequest(scoreboard::RealtimeMicros(), CpuNow(), r);
}

void EndRequest(scoreboard::SlotWriter& w, const sapi::RequestOutcome& outcome) {
  w.EndRequest(scoreboard::RealtimeMicros(), CpuNow(), outcome.http_status, outcome.memory_peak,
               outcome.auth_user);
}

// idle_trim's work (Dispatcher::Trimmer), on the idle thread itself: its
// own Zend heap (`zend`: sapi::TrimIdleHeap between classic requests,
// sapi::CollectHeapGarbage in a worker script), then malloc's free memory
// (every arena: process-wide, but only memory no one uses), then the
// pages of its own stack below the idle wait (a request that recursed
// deep in PHP's C code left them resident). A worker script waiting in a
// Fiber is on the Fiber's stack, not the thread's: that stack is left as
// it is (DiscardUnusedStack says so, logged at debug).
Dispatcher::Trimmer MakeTrimmer(int index, sapi::HeapTrim (*zend)()) {
  return [index, zend] {
    const int64_t start_us = base::MonotonicMicros();
    const sapi::HeapTrim heap = zend();
    const bool malloc_released = os::TrimMallocArenas();
    const Result<size_t> stack = os::DiscardUnusedStack();
    log::Debug("thread {}: idle_trim: Zend heap {} -> {} KiB mapped{}, malloc_trim {}, stack {}, {} us", index,
               heap.before >> 10, heap.after >> 10, heap.discarded_main_chunk ? " (free pages discarded)" : "",
               malloc_released ? "released memory" : "released nothing",
               stack.ok() ? fmt::format("{} KiB below the wait discarded", stack.value() >> 10) : stack.status().message(),
               base::MonotonicMicros() - start_us);
  };
}

// busy_trim's work, between two classic requests: the Zend heap only (its
// cached chunks and the first chunk's free pages, sapi::TrimIdleHeap).
// malloc_trim(0) is left to idle_trim: it takes every arena's lock, which
// the other busy threads are using.
void TrimBusyHeap(int index) {
  const int64_t start_us = base::MonotonicMicros();
  const sapi::HeapTrim heap = sapi::TrimIdleHeap();
  log::Debug("thread {}: busy_trim: Zend heap {} -> {} KiB mapped{}, {} us", index, heap.before >> 10,
             heap.after >> 10, heap.discarded_main_chunk ? " (free pages discarded)" : "",
             base::MonotonicMicros() - start_us);
}

// busy_trim: how far the heap peak since the last trim must exceed every
// request of the period just ended for a trim to be worth its page faults
// (a steady Symfony request touches about 280 KiB of its heap).
constexpr uint64_t kBusyTrimSlack = 256 << 10;

// Feeds tfpm_handle_request() from the Dispatcher: one complete request per
// Next(). A request that arrives after a watched file changed is deferred
// to the next run of the script, which then serves it first.
class DispatcherSource final : public sapi::RequestSource {
 public:
  DispatcherSource(Dispatcher& srv, int index, const std::atomic<uint64_t>& epoch)
      : srv_(srv), index_(index), epoch_(epoch), run_epoch_(epoch.load(std::memory_order_acquire)),
        // Built once per run, not per request: it reads the current call's
        // state from the members below.
        handler_([this](Connection& c, scoreboard::SlotWriter& w) { return Handle(c, w); }),
        // The app's objects stay in the heap: garbage collection only.
        trimmer_(MakeTrimmer(index, &sapi::CollectHeapGarbage)) {}

  bool Next(Serve& serve) override {
    if (stale_) return false;
    serve_ = &serve;
    served_ = false;
    while (!served_ && !stale_) {
      if (!srv_.ServeOne(index_, handler_, &trimmer_)) return false;
    }
    return served_;
  }
  bool stale() const { return stale_; }

 private:
  Dispatcher::Disposition Handle(Connection& c, scoreboard::SlotWriter& w) {
    if (epoch_.load(std::memory_order_acquire) != run_epoch_) {
      stale_ = true;
      return Dispatcher::Disposition::kDeferred;
    }
    BeginRequest(w, c);
    const sapi::RequestOutcome outcome = (*serve_)(c);
    EndRequest(w, outcome);
    served_ = true;
    return Dispatcher::Disposition::kServedStop;
  }

  Dispatcher& srv_;
  const int index_;
  const std::atomic<uint64_t>& epoch_;
  const uint64_t run_epoch_;
  const Dispatcher::Handler handler_;
  const Dispatcher::Trimmer trimmer_;
  Serve* serve_ = nullptr;  // the current Next() call's
  bool served_ = false;
  bool stale_ = false;
};

std::chrono::milliseconds Backoff(int failures) {
  const int shift = std::min(failures - 1, 7);  // 100 ms .. 12.8 s
  return std::chrono::milliseconds(100LL << std::max(shift, 0));
}

}  // namespace

void SetMeasureCpu(bool on) { g_measure_cpu = on; }

void ClassicThread(int index, Dispatcher& srv, scoreboard::Segment& board, uint64_t max_requests,
                   uint64_t memory_recycle, std::chrono::milliseconds busy_trim_every) {
  scoreboard::SlotWriter slot(board.slot(static_cast<uint32_t>(index)));
  slot.SetState(scoreboard::ThreadState::kStarting);
  std::optional<sapi::PhpThreadScope> scope;
  scope.emplace(index);
  slot.Started(scoreboard::RealtimeMicros());
  slot.SetState(scoreboard::ThreadState::kIdle);
  uint64_t served = 0;
  bool unwound = false;
  uint64_t over_memory = 0;  // the peak of the last request, if over memory_recycle
  BusyTrimPolicy busy_trim(busy_trim_every, kBusyTrimSlack);
  busy_trim.Restart(base::MonotonicMillis());
  const Dispatcher::Handler handler = [&served, &unwound, &over_memory, &busy_trim, memory_recycle](
                                          Connection& c, scoreboard::SlotWriter& w) {
    BeginRequest(w, c);
    const sapi::RequestOutcome outcome = sapi::ExecuteRequest(c);
    EndRequest(w, outcome);
    ++served;
    unwound = outcome.fatal_error || outcome.bailout;
    if (InterpreterOverMemory(memory_recycle, outcome.memory_peak)) over_memory = outcome.memory_peak;
    busy_trim.Served(outcome.heap_peak);
    return Dispatcher::Disposition::kServed;
  };
  // Between requests the heap is reset (php_request_shutdown): trimmed whole.
  // An idle trim gives the heap back too, so the busy policy starts over.
  const Dispatcher::Trimmer idle_trimmer = MakeTrimmer(index, &sapi::TrimIdleHeap);
  const Dispatcher::Trimmer trimmer = [&idle_trimmer, &busy_trim] {
    idle_trimmer();
    busy_trim.Restart(base::MonotonicMillis());
  };
  while (srv.ServeOne(index, handler, &trimmer)) {
    const bool recycle = (max_requests != 0 && served >= max_requests) || unwound || over_memory != 0;
    // A heap about to be replaced with its interpreter is not worth a trim.
    if (!recycle && busy_trim.enabled()) {
      const int64_t now = base::MonotonicMillis();
      if (busy_trim.Due(now)) {
        TrimBusyHeap(index);
        busy_trim.Restart(now);
      }
    }
    if (recycle) {
      // Recycle this thread's interpreter: a fresh TSRM context, as a
      // php-fpm child would be replaced after pm.max_requests.
      if (unwound) log::Debug("thread {}: interpreter recycled after a fatal error", index);
      if (over_memory != 0) {
        board.header()->memory_recycles.fetch_add(1, std::memory_order_relaxed);
        log::Notice("thread {}: interpreter recycled: the last request's Zend heap peaked at {} bytes, over "
                    "memory_recycle ({} bytes)",
                    index, over_memory, memory_recycle);
      }
      over_memory = 0;
      unwound = false;
      scope.reset();
      scope.emplace(index);
      slot.Started(scoreboard::RealtimeMicros());
      served = 0;
      busy_trim.Restart(base::MonotonicMillis());
    }
  }
  scope.reset();
  slot.SetState(scoreboard::ThreadState::kStopped);
}

void WorkerModeThread(int index, Dispatcher& srv, scoreboard::Segment& board, WorkerModeContext& ctx) {
  const config::PoolConfig& pool = *ctx.pool;
  scoreboard::SlotWriter slot(board.slot(static_cast<uint32_t>(index)));
  sapi::WorkerOptions options;
  options.script = pool.worker_script;
  options.max_requests = pool.worker.max_requests;
  // worker.memory_recycle, else the pool's memory_recycle.
  options.memory_recycle = pool.worker.memory_recycle != 0 ? pool.worker.memory_recycle : pool.memory_recycle;
  options.leak_check = static_cast<sapi::WorkerOptions::LeakCheck>(pool.worker.leak_check);
  options.leak_warmup = pool.worker.leak_warmup;
  options.leak_allow = pool.worker.leak_allow;
  options.state_leaks = &board.header()->state_leaks;
  int failures = 0;
  uint64_t runs = 0;
  while (!srv.stopping()) {
    slot.SetState(scoreboard::ThreadState::kStarting);
    std::optional<sapi::PhpThreadScope> scope;
    scope.emplace(index);
    slot.Started(scoreboard::RealtimeMicros());
    slot.SetState(scoreboard::ThreadState::kIdle);
    DispatcherSource source(srv, index, ctx.epoch);
    const sapi::WorkerRun run = sapi::RunWorkerScript(options, source);
    scope.reset();
    ++runs;
    board.header()->CountRestart(source.stale() ? base::RestartCause::kWatch : run.cause);
    // A stale source also ends the run with "stop": the request that found
    // it stale waits in this thread's carry for the next run.
    if (run.end == sapi::WorkerRun::End::kStopped && !source.stale()) break;
    if (run.end != sapi::WorkerRun::End::kFailed || source.stale()) {
      failures = 0;
      if (!source.stale() && run.cause == base::RestartCause::kMemory) {
        log::Notice("thread {}: worker script {} restarts after {} requests ({})", index, pool.worker_script,
                    run.requests, run.reason);
      } else {
        log::Debug("thread {}: worker script restarts after {} requests ({})", index, run.requests,
                   source.stale() ? "watched files changed" : run.reason);
      }
      continue;
    }
    failures = run.requests > 0 ? 1 : failures + 1;
    if (failures >= pool.worker.max_consecutive_failures) {
      log::Alert("thread {}: worker script {} failed {} consecutive times (last: {}); the thread answers 503 "
                 "until the pool is restarted",
                 index, pool.worker_script, failures, run.reason);
      slot.SetState(scoreboard::ThreadState::kFailed);
      const Dispatcher::Handler unavailable = [](Connection& c, scoreboard::SlotWriter&) {
        fastcgi::RespondUnavailable(c, "tfpm: the pool's worker script has failed");
        return Dispatcher::Disposition::kServed;
      };
      while (srv.ServeOne(index, unavailable)) {
      }
      break;
    }
    const auto delay = Backoff(failures);
    log::Warning("thread {}: worker script {} failed after {} requests ({}); restarting in {} ms", index,
                 pool.worker_script, run.requests, run.reason, delay.count());
    if (!srv.SleepUnlessStopping(delay)) break;
  }
  slot.SetState(scoreboard::ThreadState::kStopped);
}

}  // namespace tfpm::worker
