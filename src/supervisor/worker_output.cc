// catch_workers_output, the Supervisor's side (members): reading a
// worker's stdout/stderr pipe and logging its lines as php-fpm does; the
// reading itself is ReadWorkerOutput (worker_output.h).
#include "supervisor/supervisor.h"

#include <span>

#include "base/log.h"
#include "os/fd_io.h"
#include "supervisor/supervisor_internal.h"
#include "supervisor/worker_output.h"

namespace tfpm::supervisor {

OutputRead ReadWorkerOutput(int fd, size_t budget, size_t room, OutputLines& lines, const OutputLines::Sink& emit) {
  OutputRead out;
  char buf[8192];
  for (size_t got = 0; got < budget;) {
    auto n = os::ReadSome(fd, buf);
    if (!n.ok()) break;  // empty (EAGAIN), or failed: the next wake-up tries again
    if (*n == 0) {
      out.eof = true;
      break;
    }
    got += *n;
    out.wrapped += lines.Feed(std::string_view(buf, *n), room, emit);
  }
  return out;
}

size_t OutputRoom(size_t limit, size_t reserved) { return limit > reserved + 1 ? limit - reserved - 1 : 1; }

// catch_workers_output: each line a worker writes to stdout/stderr is logged
// as php-fpm does ("[pool www] child 12 said into stderr: ...").
void Supervisor::HandleOutput(pid_t pid) {
  auto it = workers_.find(pid);
  if (it != workers_.end()) ReadOutput(*it->second, false);
}

void Supervisor::ReadOutput(Worker& w, bool exited) {
  if (!w.output) return;
  const Pool* pool = FindPool(w.pool);
  const bool decorate = pool == nullptr || pool->config.decorate_workers_output;
  // log_limit: a longer line is wrapped into several, each at most
  // log_limit - 1 bytes with its prefix and quotes (php-fpm's zlog stream),
  // logged as its bytes arrive: nothing is held but the last piece.
  const std::string decoration = "[pool " + w.pool + "] child " + std::to_string(w.pid) + " said into stderr: \"";
  const size_t reserved = log::PrefixLength(log::Level::kWarning) + (decorate ? decoration.size() + 1 : 0);
  const size_t limit = log::LineLimit();
  const size_t room = OutputRoom(limit, reserved);
  const OutputLines::Sink emit = [&](std::string_view piece) {
    if (decorate) log::Warning("{}{}\"", decoration, piece);
    else log::Warning("{}", piece);
  };
  // At most kMaxOutputPerWake bytes a wake-up (the pipe stays readable, the
  // loop comes back): a worker that writes without pause cannot keep the
  // supervisor from its other events. After the exit, what is left (from a
  // child of PHP that still holds the pipe, maybe) is read up to a bound.
  const size_t budget = exited ? kMaxOutputAfterExit : kMaxOutputPerWake;
  const OutputRead read = ReadWorkerOutput(w.output.get(), budget, room, w.output_lines, emit);
  if (read.eof) {
    // Every writer closed it: watched no more (level-triggered EOF would
    // wake the loop for ever).
    poller_->Remove(w.output.get());
    w.output.Reset();
  }
  const size_t wrapped = read.wrapped;
  if (exited || !w.output) w.output_lines.Finish(emit);
  if (wrapped > 0) {
    worker_output_lines_wrapped_ += wrapped;
    uint64_t held = 0;
    if (output_wrap_log_.Allow(&held)) {
      log::Notice("[pool {}] child {} wrote a line longer than log_limit ({} bytes); logged in pieces as it "
                  "arrives ({} more such lines since the last notice)",
                  w.pool, w.pid, limit, held);
    }
  }
}

}  // namespace tfpm::supervisor
