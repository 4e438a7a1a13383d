// One Zend max-execution timer per PHP thread for the thread's whole life.
// Included by sapi/*.cc only (uses PHP's executor globals).
//
// Stock PHP deletes a thread's POSIX timer at every request's end
// (shutdown_executor -> timer_delete) and creates a new one at the next
// request's start (init_executor -> getpid, gettid, timer_create): four
// system calls per request for nothing, since the thread is the same
// (php-src #12539, "reuse timers", was closed unmerged). PHP skips both
// when EG(pid) says the timer belongs to another process (after a fork),
// so a SAPI can keep the timer: show PHP a foreign pid while the request
// shuts down (the timer is still disarmed there: settime(0) only needs a
// non-zero pid), restore ours afterwards (the next request then finds its
// timer), and delete it itself when the thread's interpreter goes away.
#pragma once

#include "sapi/php_internal.h"

namespace tfpm::sapi {

// Around php_request_shutdown(): the thread's timer outlives the request.
class KeepExecutionTimer {
 public:
  KeepExecutionTimer() : pid_(EG(pid)) {
    if (pid_ != 0) EG(pid) = -1;
  }
  ~KeepExecutionTimer() {
    if (pid_ != 0) EG(pid) = pid_;
  }
  KeepExecutionTimer(const KeepExecutionTimer&) = delete;
  KeepExecutionTimer& operator=(const KeepExecutionTimer&) = delete;

 private:
  pid_t pid_;
};

// Before ts_free_thread(): deletes the thread's timer if it has one (PHP
// itself never does at thread end).
void DeleteExecutionTimer();

}  // namespace tfpm::sapi
