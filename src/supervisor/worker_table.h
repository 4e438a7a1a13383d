// The worker table: what the supervisor knows of each live worker process
// (any pool, any generation), by pid. A worker is in the table from its
// spawn until it is reaped; a pool's slot names the pid of the worker that
// holds it (0 = none), and FindWorker turns a slot's pid into its entry.
//
// Not thread-safe: the supervisor's loop thread only.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "ipc/notify.h"
#include "os/clock.h"
#include "os/process.h"
#include "os/shared_memory.h"
#include "os/unique_fd.h"
#include "supervisor/listener.h"
#include "supervisor/output_lines.h"
#include "supervisor/transition.h"

namespace tfpm::supervisor {

struct Worker {
  std::string pool;
  int slot = 0;
  uint64_t generation = 0;
  pid_t pid = 0;
  using State = WorkerPhase;  // transition.h
  State state = State::kStarting;
  os::UniqueFd notify;   // our end of the socketpair
  os::UniqueFd output;   // captured stdout/stderr (catch_workers_output)
  std::optional<os::SharedMemory> board;
  std::shared_ptr<Listener> listener;
  os::TimePoint started_at;
  std::optional<os::TimePoint> ready_at;  // when it reported ready
  std::optional<os::TimePoint> kill_at;  // SIGKILL if still alive (stopping)
  // exit_cause.h SignalBit of each signal the supervisor sent it (SendSignal):
  // a death by one of them is not a crash.
  uint64_t signals_sent = 0;
  bool drain_acked = false;              // it said "draining": accepts no more
  ipc::MessageReader notify_lines;       // its notify socket's text (ipc/notify.h)
  OutputLines output_lines;  // its unfinished line (at most log_limit)
  // The log files it was handed (ipc/worker_process.h), opened again
  // and sent to it by reopen-logs; "" = none.
  std::string access_log, slowlog;
  // Process recycling: it asked to be replaced (ipc/notify.h
  // Message::kRecycle*) for this cause, "max_requests" or "memory"; "" = no.
  // Its slot now holds the replacement; it is drained once that one is
  // ready (CheckRecycles).
  std::string recycle_cause;
  // It asked, but had to wait (another process of its pool was being
  // replaced, a reload, process_max): retried by CheckRecycles as soon as
  // possible, without waiting for the worker to ask again.
  std::string recycle_deferred;
};

using WorkerTable = std::map<pid_t, std::unique_ptr<Worker>>;

// The live worker `pid` (a slot's pid), or nullptr: 0 (an empty slot) or a
// pid no longer in the table (reaped).
Worker* FindWorker(const WorkerTable& table, pid_t pid);

// Sends `signal` to `w` and notes it in w.signals_sent.
void SendSignal(os::Spawner& spawner, Worker& w, int signal);

// daemon.process_max (`max`; 0 = no limit) worker processes run.
bool ProcessMaxReached(const WorkerTable& table, int max);

}  // namespace tfpm::supervisor
