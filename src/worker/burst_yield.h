// When a PHP thread gives up the CPU between two requests: after it has
// served requests back to back, without waiting for one, for `after`.
//
// Why: a thread that always finds the next request ready never sleeps, so
// the kernel ends its time slice wherever the slice runs out, usually in
// the middle of a request; that request then waits a whole round of the
// other runnable threads (16 PHP threads on 2 CPUs: 5-10 ms for a 40 µs
// hello). php-fpm's children sleep after every request (the next one on
// their connection is not there yet), so theirs rarely does. Yielding at a
// request boundary, holding no request, once the burst has lasted `after`,
// ends the slice where no request waits for it. Measured (issue 16, 1x16,
// 16 kept connections, medians of 6-8 runs; dispatcher_internal.h has the
// threshold): p99 json 6.2 -> 1.3 ms, Symfony 35.5 -> 10.8, hello 3.9 ->
// 1.4 (php-fpm: 2.6, 16.6, 2.5).
//
// Pure: the caller passes the monotonic clock in microseconds, so a test
// drives it with a fake clock. The Dispatcher keeps one per PHP thread.
// Not thread-safe: one per thread, used by that thread only.
#pragma once

#include <chrono>
#include <cstdint>

namespace tfpm::worker {

class BurstYield {
 public:
  // A wait for work longer than this means the thread slept: its burst
  // ends. Shorter, the event was already there (epoll_wait returned at once).
  static constexpr int64_t kSleptUs = 50;

  // `after` <= 0: never yields.
  explicit BurstYield(std::chrono::microseconds after) : after_us_(after.count()) {}

  // Before the thread waits for its next request, at `now_us`: true when
  // it has been serving without a pause for `after`. The caller then
  // yields and calls Restart().
  bool ShouldYield(int64_t now_us);

  // The burst starts again at `now_us` (after a yield).
  void Restart(int64_t now_us) { start_us_ = now_us; }

  // The thread waited for work from `before_us` to `after_us`: if it slept,
  // its burst starts again when it woke.
  void Waited(int64_t before_us, int64_t after_us) {
    if (after_us - before_us > kSleptUs) start_us_ = after_us;
  }

 private:
  int64_t after_us_;
  int64_t start_us_ = -1;  // -1 = not started
};

}  // namespace tfpm::worker
