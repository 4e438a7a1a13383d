// When an idle PHP thread gives its free memory back (the pool's idle_trim,
// docs/config.md "Idle memory trimming"): once, when it has served no
// request for `after` since its last one; then not again until it has
// served another. A thread that has served nothing since it started (or
// since its interpreter was replaced) has nothing to give back and does not
// trim.
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

}  // namespace tfpm::worker
