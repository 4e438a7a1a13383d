// pm dynamic/ondemand at the process level: when the supervisor adds a
// process to a pool and when it drains one (docs/architecture.md "Scaling:
// threads and processes"). Pure: the pool's config and what the supervisor
// observed (its processes' threads from their scoreboards, its slots, the
// clock) in, one decision out; the Supervisor executes it (ScalePools).
// Unit-tested in tests/unit/supervisor/scaling_test.cc.
//
// The rules:
//  * Start: every serving process has all its threads busy, none is
//    starting or waiting for a restart, and a slot is free: one more
//    process (one per decision; the next one waits until it is ready).
//    With daemon.process_max reached the decision says so instead.
//  * Stop: the newest serving process is surplus when the others could
//    carry the busy threads and still keep spare ones (dynamic:
//    min_spare_threads; ondemand: 1, so that a load that exactly fills
//    them does not make a process come and go every idle_timeout). Once it
//    has been surplus for idle_timeout without a break, it is drained.
//  * Anything else: nothing; a break in the surplus resets its start.
// pm static pools are never scaled.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "config/config.h"
#include "os/clock.h"

namespace tfpm::supervisor {

// A process's threads as its scoreboard shows them: `max` slots, `running`
// (not Stopped) and `busy` (reading or running a request).
struct ThreadCounts {
  uint32_t max = 0, running = 0, busy = 0;
  bool full() const { return max > 0 && busy >= max; }
};

// Counts a scoreboard segment (`data`, `size` bytes; an invalid one counts
// as no threads). The segment is shared with the worker: each state is read
// once, relaxed.
ThreadCounts CountProcessThreads(const void* data, size_t size);

// What the supervisor observed of one pool.
struct ScaleObservation {
  struct Process {
    int slot = 0;               // its slot in the pool
    os::TimePoint started_at;   // the newest is the one drained
    ThreadCounts threads;
  };
  // Processes serving: ready and not draining, in any order.
  std::vector<Process> serving;
  // A process of the pool is starting, or a slot waits for its restart.
  bool starting = false;
  // The first slot with no process and no restart due (nullopt: none).
  std::optional<int> free_slot;
  // daemon.process_max worker processes run (all pools).
  bool process_max_reached = false;
  // Since when the pool could do without its newest process (nullopt: it
  // could not at the last decision).
  std::optional<os::TimePoint> surplus_since;
  os::TimePoint now;
};

struct ScaleDecision {
  enum class Action {
    kNothing,
    kStart,            // start a process in `slot`
    kStop,             // drain the process in `slot` (the newest)
    kProcessMaxReached // would start one, but process_max forbids it
  };
  Action action = Action::kNothing;
  int slot = -1;
  // The pool's busy threads over its serving processes (for the log line).
  uint32_t busy = 0;
  // The value of surplus_since to keep for the next decision.
  std::optional<os::TimePoint> surplus_since;
};

ScaleDecision DecideScaling(const config::PoolConfig& pc, const ScaleObservation& seen);

// Processes a pool starts with: `processes` for pm static, else 1.
int InitialProcesses(const config::PoolConfig& pc);

// Processes a pool's new generation (reload, rolling restart) starts with:
// for pm dynamic/ondemand as many as the old generation runs now (`live`,
// not draining; nullopt: the pool is new), so that a reload under load
// starts with the capacity that load needed; never fewer than
// InitialProcesses, never more than `processes`.
int ProcessesForNewGeneration(const config::PoolConfig& pc, std::optional<int> live);

}  // namespace tfpm::supervisor
