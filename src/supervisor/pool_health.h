// Whether a pool's workers can stay up, and whether a new generation of
// workers may be accepted. Pure: events and times in, decisions out, so both
// are unit-tested with a fake clock (tests/unit/supervisor/pool_health_test.cc).
//
// The rules (docs/architecture.md "Pools whose workers cannot stay up"):
//
//  * Probation (GenerationProbation): a new generation — the first one at
//    start, or a reload's — is accepted only when every one of its workers
//    has been ready for `startup_probation`. A worker of it that exits
//    before then fails the start (the daemon exits 1) or rolls the reload
//    back (the old generation never stopped serving).
//  * Failure (PoolHealth): once accepted, a worker that exits unexpectedly
//    before it is ready, or less than `window` after it became ready, is a
//    quick failure. `threshold` quick failures in a row mark the pool
//    failed; an exit after a longer life, or a worker that is up for
//    `window`, ends the run. A failed pool becomes healthy again when one
//    of its workers has been ready for `window`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

#include "os/clock.h"

namespace tfpm::supervisor {

class PoolHealth {
 public:
  using Duration = std::chrono::milliseconds;
  struct Limits {
    int threshold = 5;       // quick failures in a row; 0 = never failed
    Duration window{10000};  // how long a worker must stay up after ready
  };
  // What an event changed.
  enum class Change { kNone, kFailed, kRecovered };

  PoolHealth() = default;
  explicit PoolHealth(Limits limits) : limits_(limits) {}

  // A worker of the pool exited although nobody asked it to. `ready_at`:
  // when it reported ready (nullopt: it never did).
  Change OnUnexpectedExit(std::optional<os::TimePoint> ready_at, os::TimePoint died);
  // `oldest_ready`: the earliest ready time among the pool's live ready
  // workers (nullopt: none). A worker up for `window` ends a run of quick
  // failures and brings a failed pool back.
  Change OnTick(std::optional<os::TimePoint> oldest_ready, os::TimePoint now);
  // When OnTick can next change something for this `oldest_ready`
  // (nullopt: nothing to wait for).
  std::optional<os::TimePoint> NextCheck(std::optional<os::TimePoint> oldest_ready) const;

  bool failed() const { return failed_since_.has_value(); }
  std::optional<os::TimePoint> failed_since() const { return failed_since_; }
  int quick_failures() const { return quick_failures_; }
  uint64_t times_failed() const { return times_failed_; }
  const Limits& limits() const { return limits_; }

 private:
  bool Stable(std::optional<os::TimePoint> ready_at, os::TimePoint now) const {
    return ready_at && now - *ready_at >= limits_.window;
  }

  Limits limits_;
  int quick_failures_ = 0;
  std::optional<os::TimePoint> failed_since_;
  uint64_t times_failed_ = 0;
};

// The probation of a new generation. Each entry is one of its workers:
// when it reported ready (nullopt: not yet).
struct ProbationVerdict {
  bool passed = false;                   // every worker ready for `probation`
  std::optional<os::TimePoint> recheck;  // when to look again (a worker's probation ends)
};
ProbationVerdict CheckProbation(std::span<const std::optional<os::TimePoint>> ready_at,
                                std::chrono::milliseconds probation, os::TimePoint now);

}  // namespace tfpm::supervisor
