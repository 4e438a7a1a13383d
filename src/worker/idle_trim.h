// When a PHP thread gives its free memory back (docs/config.md "Idle memory
// trimming"): idle (IdleTrimTimer, the pool's idle_trim), and between two
// requests of a thread that keeps serving (BusyTrimPolicy, busy_trim).
//
// IdleTrimTimer: once, when the thread has served no request for `after`
// since its last one; then not again until it has served another. A thread
// that has served nothing since it started (or since its interpreter was
// replaced) has nothing to give back and does not trim.
//
// Pure: the caller passes the monotonic clock in milliseconds, so a test
// drives it with a fake clock. The Dispatcher keeps one per PHP thread and
// bounds that thread's wait for work by WaitMs(); the trim itself runs on
// the thread that owns the memory (Dispatcher::Trimmer). Not thread-safe:
// one per thread, used by that thread only.
#pragma once

#include <chrono>
#include <cstdint>

namespace tfpm::worker {

class IdleTrimTimer {
 public:
  // `after` <= 0: never trims (WaitMs() is always -1, Due() never true).
  explicit IdleTrimTimer(std::chrono::milliseconds after) : after_ms_(after.count()) {}

  bool enabled() const { return after_ms_ > 0; }

  // The thread finished a request at `now_ms`: a trim is due `after` later
  // unless it serves another meanwhile.
  void Served(int64_t now_ms);

  // How long the thread may wait for work at `now_ms` before a trim is
  // due: -1 = no bound (nothing to trim), 0 = due now, else milliseconds
  // (at most INT32_MAX, an epoll_wait timeout).
  int WaitMs(int64_t now_ms) const;

  // True, once, when the thread has been idle for `after` at `now_ms`: the
  // caller trims now. Then false until the next Served().
  bool Due(int64_t now_ms);

 private:
  int64_t after_ms_;
  int64_t due_ms_ = -1;  // -1 = nothing served since the last trim
};

// When a classic PHP thread that keeps serving gives its Zend heap's free
// pages back between two requests (the pool's busy_trim, docs/config.md
// "Idle memory trimming"). After a request PHP resets the heap but its
// pages stay resident: a thread that once served a request with a high
// peak (the first requests after a start or a deploy compile every script
// they include, in the thread's own heap) keeps that peak's pages for as
// long as it never waits idle_trim. So, checked once per period of
// `every`: a thread trims when the highest request peak since its last
// trim is more than `slack` bytes above the highest of the period just
// ended, i.e. when a whole period went by without needing those pages.
// Steady traffic never trims; nor does a mix of heavy and light requests
// that keeps needing its peak (trimming it would only buy page faults);
// a peak that does not come back is given back one to two periods later.
//
// Pure, on a caller's monotonic milliseconds, like IdleTrimTimer; one per
// thread, used by that thread only.
class BusyTrimPolicy {
 public:
  // `every` <= 0: never trims.
  BusyTrimPolicy(std::chrono::milliseconds every, uint64_t slack) : every_ms_(every.count()), slack_(slack) {}

  bool enabled() const { return every_ms_ > 0; }

  // The thread's heap is as small as it gets at `now_ms`: the thread
  // started, its interpreter was replaced, or it was just trimmed (busy or
  // idle).
  void Restart(int64_t now_ms);

  // A request finished; `peak` is its Zend heap peak (bytes allocated,
  // zend_memory_peak_usage(false)).
  void Served(uint64_t peak);

  // Between two requests at `now_ms`: true when the caller should trim now
  // (then Restart it). Otherwise a period that has ended starts the next.
  bool Due(int64_t now_ms);

 private:
  int64_t every_ms_;
  uint64_t slack_;
  int64_t period_start_ms_ = 0;
  uint64_t held_peak_ = 0;    // the highest request peak since the last trim
  uint64_t period_peak_ = 0;  // the highest in the current period
};

}  // namespace tfpm::worker
