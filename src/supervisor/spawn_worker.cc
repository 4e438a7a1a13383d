// Starting one worker process (Supervisor members): the descriptors it is
// handed (config memfd, notify socketpair, scoreboard, listening socket, log
// files, output pipe; ipc/worker_process.h), the spawn through
// os::Spawner (spawn_plan.h says what is spawned), and its entry in the
// worker table and its pool's slot. Kept out of supervisor.cc, which keeps
// to the event loop.
#include "supervisor/supervisor.h"

#include <sys/epoll.h>

#include "base/log.h"
#include "ipc/worker_process.h"
#include "os/fd_io.h"
#include "scoreboard/scoreboard.h"
#include "supervisor/supervisor_internal.h"

namespace tfpm::supervisor {

bool Supervisor::ProcessMaxReached() const {
  return supervisor::ProcessMaxReached(workers_, config_.daemon.process_max);
}

Status Supervisor::SpawnWorker(Pool& pool, int slot_index) {
  if (ProcessMaxReached()) {
    return Status::Aborted("pool " + pool.config.name + ": process_max (" +
                           std::to_string(config_.daemon.process_max) + ") worker processes are running");
  }
  // The pool's own config bytes (docs/security.md "Trust boundaries").
  const auto text = pool_texts_.find(pool.config.name);
  if (text == pool_texts_.end()) return Status::InvalidArgument("pool " + pool.config.name + ": no config text");
  auto config_fd = os::MemfdWithContents("tfpm-config", text->second);
  if (!config_fd.ok()) return Status::IoError("pool " + pool.config.name + ": " + config_fd.status().message());
  auto w = std::make_unique<Worker>();
  w->pool = pool.config.name;
  w->slot = slot_index;
  w->generation = pool.generation;
  w->listener = pool.listener;
  auto pair = os::StreamSocketPair(os::IoMode::kNonBlocking);
  if (!pair.ok()) return Status::IoError("pool " + pool.config.name + ": " + pair.status().message());
  w->notify = std::move(pair->first);
  os::UniqueFd child_notify = std::move(pair->second);
  auto board = os::SharedMemory::Create(
      "tfpm-scoreboard", scoreboard::SegmentSize(static_cast<uint32_t>(pool.config.threads)));
  if (!board.ok()) return board.status();
  w->board.emplace(std::move(board.value()));

  WorkerFds fds;
  fds.config = config_fd->get();
  fds.notify = child_notify.get();
  fds.scoreboard = w->board->fd();
  fds.listen = pool.listener->fd.get();
  const bool startup_reported = pool.startup_reported;
  pool.startup_reported = true;
  if (log_fd_) {
    fds.log = log_fd_.get();
    fds.log_is_file = config_.daemon.error_log != "stderr";
  }
  HeldFds held;
  if (Status st = OpenWorkerFiles(pool.config, *w, &held, &fds); !st.ok()) return st;
  const os::SpawnSpec spec =
      PlanWorkerSpawn(options_.worker_executable, pool.config, config_.source, startup_reported, fds);
  auto pid = spawner_->Spawn(spec);
  if (!pid.ok()) return Status::IoError("pool " + pool.config.name + ": " + pid.status().message());
  w->pid = *pid;
  w->started_at = clock_->Now();
  if (Status st = poller_->Add(w->notify.get(), EPOLLIN | EPOLLRDHUP, Token(kNotify, static_cast<uint64_t>(w->pid)));
      !st.ok()) {
    return st;
  }
  if (w->output) {
    (void)poller_->Add(w->output.get(), EPOLLIN, Token(kOutput, static_cast<uint64_t>(w->pid)));
  }
  pool.slots[static_cast<size_t>(slot_index)].pid = w->pid;
  pool.slots[static_cast<size_t>(slot_index)].restart_at.reset();
  log::Notice("[pool {}] child {} started (generation {})", pool.config.name, w->pid, w->generation);
  workers_.emplace(w->pid, std::move(w));
  return Status::Ok();
}

Status Supervisor::OpenWorkerFiles(const config::PoolConfig& pc, Worker& w, HeldFds* held, WorkerFds* fds) {
  // The pool's log files: opened here, so a worker that switched to the
  // pool's user can still write them.
  if (HandsAccessLog(pc)) {
    auto fd = OpenLogForWorkers(pc.access_log, "access_log");
    if (!fd.ok()) return Status::IoError("pool " + pc.name + ": " + fd.status().message());
    held->access_log = std::move(fd.value());
    fds->access_log = held->access_log.get();
    w.access_log = pc.access_log;
  }
  if (HandsSlowlog(pc)) {
    auto fd = OpenLogForWorkers(pc.slowlog, "slowlog");
    if (!fd.ok()) return Status::IoError("pool " + pc.name + ": " + fd.status().message());
    held->slowlog = std::move(fd.value());
    fds->slowlog = held->slowlog.get();
    w.slowlog = pc.slowlog;
  }
  if (pc.catch_workers_output) {
    // Our end never blocks the loop; the worker's end blocks, as php-fpm's:
    // a write larger than the pipe waits for us to read instead of failing
    // with EAGAIN (the output was lost). We read on every wake-up.
    auto pipe = os::Pipe();
    if (!pipe.ok()) return Status::IoError("pool " + pc.name + ": " + pipe.status().message());
    w.output = std::move(pipe->first);
    held->output_write = std::move(pipe->second);
    if (Status st = os::SetNonBlocking(w.output.get(), true); !st.ok()) return st;
    fds->output = held->output_write.get();
  }
  return Status::Ok();
}

void Supervisor::InitPool(Pool& pool) {
  const config::PoolConfig& pc = pool.config;
  RestartPolicy::Limits restart;
  restart.stable_after = pc.failure_window;
  pool.slots.assign(static_cast<size_t>(pc.processes), Slot{0, RestartPolicy(restart), std::nullopt});
  pool.health = PoolHealth(PoolHealth::Limits{pc.failure_threshold, pc.failure_window});
}

}  // namespace tfpm::supervisor
