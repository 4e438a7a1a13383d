#include "supervisor/scaling.h"

#include <algorithm>
#include <atomic>

#include "scoreboard/scoreboard.h"

namespace tfpm::supervisor {

ThreadCounts CountProcessThreads(const void* data, size_t size) {
  ThreadCounts c;
  scoreboard::Segment seg(const_cast<void*>(data), size);
  if (!seg.Valid()) return c;
  c.max = seg.Threads();
  for (uint32_t t = 0; t < c.max; ++t) {
    const auto cls = scoreboard::Classify(
        static_cast<scoreboard::ThreadState>(seg.slot(t)->state.load(std::memory_order_relaxed)));
    if (cls == scoreboard::ThreadClass::kAbsent) continue;
    ++c.running;
    if (cls == scoreboard::ThreadClass::kActive) ++c.busy;
  }
  return c;
}

ScaleDecision DecideScaling(const config::PoolConfig& pc, const ScaleObservation& seen) {
  using Action = ScaleDecision::Action;
  ScaleDecision d;
  d.surplus_since = seen.surplus_since;
  if (pc.pm == config::ProcessManager::kStatic) return d;
  std::vector<ScaleObservation::Process> serving = seen.serving;
  std::stable_sort(serving.begin(), serving.end(),
                   [](const auto& a, const auto& b) { return a.started_at < b.started_at; });
  bool all_full = !serving.empty();
  for (const auto& p : serving) {
    d.busy += p.threads.busy;
    all_full = all_full && p.threads.full();
  }
  if (all_full && !seen.starting && seen.free_slot) {
    if (seen.process_max_reached) {
      d.action = Action::kProcessMaxReached;
      return d;
    }
    d.action = Action::kStart;
    d.slot = *seen.free_slot;
    d.surplus_since.reset();
    return d;
  }
  const uint32_t spare =
      pc.pm == config::ProcessManager::kDynamic ? static_cast<uint32_t>(pc.min_spare_threads) : 1;
  if (serving.size() <= 1 || seen.starting) {
    d.surplus_since.reset();
    return d;
  }
  const uint32_t others = static_cast<uint32_t>(pc.threads) * static_cast<uint32_t>(serving.size() - 1);
  if (d.busy + spare > others) {
    d.surplus_since.reset();
    return d;
  }
  if (!d.surplus_since) d.surplus_since = seen.now;
  if (seen.now - *d.surplus_since < pc.idle_timeout) return d;
  d.surplus_since.reset();
  d.action = Action::kStop;
  d.slot = serving.back().slot;
  return d;
}

int InitialProcesses(const config::PoolConfig& pc) {
  return pc.pm == config::ProcessManager::kStatic ? pc.processes : 1;
}

int ProcessesForNewGeneration(const config::PoolConfig& pc, std::optional<int> live) {
  const int initial = InitialProcesses(pc);
  if (!live || pc.pm == config::ProcessManager::kStatic) return initial;
  return std::clamp(*live, initial, std::max(initial, pc.processes));
}

}  // namespace tfpm::supervisor
