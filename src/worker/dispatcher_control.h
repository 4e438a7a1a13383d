// DispatcherControl: what a worker process's main thread asks of its Dispatcher
// (worker/dispatcher.h): scaling the PHP threads, the connection clock, load
// shedding, draining, and kept connections handed over. An interface so the
// main thread's decisions (worker/main_thread.h) are unit-tested with a
// fake; Dispatcher is the one real implementation.
//
// Thread-safety: the main thread only (see Dispatcher for each method).
#pragma once

#include <chrono>
#include <cstdint>

#include "os/unique_fd.h"

namespace tfpm::worker {

class DispatcherControl {
 public:
  virtual ~DispatcherControl() = default;

  // Thread scaling (pm dynamic/ondemand).
  virtual void JoinExited() = 0;
  virtual int live_threads() = 0;
  virtual int busy() const = 0;
  virtual bool Pending() = 0;
  virtual bool StartThread() = 0;
  virtual void RetireThreads(int n) = 0;
  virtual int CancelRetires() = 0;

  // max_wait_time: requests answered 503 now.
  virtual int ShedOverdue(std::chrono::milliseconds max_wait) = 0;
  // The connection clock; how long the caller may wait before the next one.
  virtual std::chrono::milliseconds Tick() = 0;

  // Draining and kept connections.
  virtual void BeginDrain() = 0;
  virtual bool Idle() const = 0;
  virtual bool QuietFor(std::chrono::milliseconds quiet) = 0;
  virtual void Adopt(os::UniqueFd fd) = 0;
  virtual void DisableHandOver() = 0;

  virtual uint64_t requests_served() const = 0;
};

}  // namespace tfpm::worker
