#include "supervisor/worker_table.h"

#include "supervisor/exit_cause.h"

namespace tfpm::supervisor {

Worker* FindWorker(const WorkerTable& table, pid_t pid) {
  if (pid == 0) return nullptr;
  auto it = table.find(pid);
  return it == table.end() ? nullptr : it->second.get();
}

void SendSignal(os::Spawner& spawner, Worker& w, int signal) {
  w.signals_sent |= SignalBit(signal);
  (void)spawner.Signal(w.pid, signal);
}

bool ProcessMaxReached(const WorkerTable& table, int max) {
  return max > 0 && table.size() >= static_cast<size_t>(max);
}

}  // namespace tfpm::supervisor
