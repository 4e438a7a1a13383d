// Kept connections handed over between workers (Supervisor member): a
// draining worker sends back a kept connection with no request on it, and
// it goes to a ready worker on the same socket (HandoverTargets,
// handover.h, chooses which).
#include "supervisor/handover.h"

#include "base/log.h"
#include "ipc/worker_process.h"
#include "supervisor/supervisor.h"
#include "supervisor/supervisor_internal.h"

namespace tfpm::supervisor {

std::vector<const Worker*> HandoverTargets(const WorkerTable& table, const Worker& from) {
  std::vector<const Worker*> candidates;
  for (const auto& [pid, w] : table) {
    if (w->state != Worker::State::kReady || w->listener != from.listener || pid == from.pid) continue;
    if (!candidates.empty() && candidates.front()->generation < w->generation) candidates.clear();
    if (candidates.empty() || candidates.front()->generation == w->generation) candidates.push_back(w.get());
  }
  return candidates;
}

// A draining worker handed over a kept connection (with no request on it):
// pass it to a ready worker that serves the same socket, of the newest
// generation that has one (during a reload the newest ready one is still the
// previous generation), round robin. Without one it is closed.
void Supervisor::HandOver(const Worker& from, os::UniqueFd conn) {
  if (stop_mode_ != StopMode::kNone) return;
  const std::vector<const Worker*> candidates = HandoverTargets(workers_, from);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Worker* to = candidates[(next_handover_ + i) % candidates.size()];
    if (os::SendFd(to->notify.get(), conn.get(), wc::kTagConnection)) {
      next_handover_ += i + 1;
      ++connections_handed_over_;
      return;
    }
  }
  log::Warning("[pool {}] no ready worker to take over a kept connection; closing it", from.pool);
}

}  // namespace tfpm::supervisor
