// The pools' listening sockets (Supervisor members): found again across
// reloads (same address, same fd), taken from systemd (LISTEN_FDS), or
// opened; and, in a graceful stop, closed to new connections once every
// worker on them stopped accepting. Kept out of supervisor.cc, which keeps
// to the event loop.
#include "supervisor/supervisor.h"

#include <set>

#include "base/log.h"
#include "os/directories.h"
#include "os/fd_io.h"
#include "supervisor/supervisor_internal.h"

namespace tfpm::supervisor {

Status Supervisor::TakeActivatedSockets() {
  for (int fd : options_.activated_fds) {
    auto l = std::make_shared<Listener>();
    l->fd.Reset(fd);  // ours from now on, whatever happens
    l->from_systemd = true;
    auto address = os::LocalAddress(fd);
    if (!address.ok()) return Status::IoError("LISTEN_FDS: fd " + std::to_string(fd) + ": " + address.status().message());
    l->address = *address;
    Status st = os::SetCloseOnExec(fd);
    if (st.ok()) st = os::SetNonBlocking(fd, true);
    if (!st.ok()) return Status::IoError("LISTEN_FDS: fd " + std::to_string(fd) + ": " + st.message());
    activated_.push_back(std::move(l));
  }
  return Status::Ok();
}

Listener::~Listener() {
  if (fd && !from_systemd && !stopped && address.kind == os::ListenAddress::Kind::kUnix) (void)os::RemoveSocketFile(address.path);
}

// The socket for `pc.listen`: the one already open at that address (kept
// across reloads: same fd), one passed by systemd, or a new one.
Result<os::UniqueFd> ListenAsPool(const config::PoolConfig& pc, const os::ListenAddress& address,
                                  const std::string& what) {
  const std::string where = "pool " + pc.name + ": " + what;
  if (address.kind == os::ListenAddress::Kind::kUnix) {
    if (Status st = os::MakeParentDirectories(address.path, 0755); !st.ok()) {
      return Status::IoError(where + st.message());
    }
  }
  os::ListenOptions lo;
  lo.backlog = pc.listen_backlog;
  lo.mode = pc.listen_mode;
  lo.owner = pc.listen_owner;
  lo.group = pc.listen_group;
  lo.acl_users = pc.listen_acl_users;
  lo.acl_groups = pc.listen_acl_groups;
  auto fd = os::Listen(address, lo);
  if (!fd.ok()) return Status::IoError(where + fd.status().message());
  return fd;
}

Result<std::shared_ptr<Listener>> Supervisor::ListenerFor(const config::PoolConfig& pc,
                                                                       const std::string& source) {
  auto address = os::ParseListenAddress(pc.listen);
  if (!address.ok()) {
    return Status::InvalidArgument(source + ":" + std::to_string(pc.line) + ": pools." + pc.name +
                                   ".listen: " + address.status().message());
  }
  for (const Pool& p : pools_) {
    if (p.listener && p.listener->address == *address) return p.listener;
  }
  for (const auto& [pid, w] : workers_) {
    if (w->listener && w->listener->address == *address) return w->listener;
  }
  for (const auto& l : activated_) {
    if (l->address == *address) return l;
  }
  auto fd = ListenAsPool(pc, *address, "");
  if (!fd.ok()) return fd.status();
  auto listener = std::make_shared<Listener>();
  listener->address = *address;
  listener->fd = std::move(fd.value());
  return listener;
}

Supervisor::Pool Supervisor::NewPool(const config::PoolConfig& pc, std::shared_ptr<Listener> listener,
                                      uint64_t generation) {
  Pool pool;
  pool.config = pc;
  pool.listener = std::move(listener);
  pool.generation = generation;
  pool.counters = CountersFor(pc.name);
  InitPool(pool);
  return pool;
}

Status Supervisor::OpenListeners() {
  for (const auto& pc : config_.pools) {
    auto listener = ListenerFor(pc, config_.source);
    if (!listener.ok()) return listener.status();
    Pool pool = NewPool(pc, std::move(listener.value()), generation_);
    static constexpr const char* kPm[] = {"static", "dynamic", "ondemand"};
    log::Notice("pool {}: listening on {}{}, pm {}, {} {} process(es) x {} thread(s)", pc.name,
                pool.listener->address.ToString(), pool.listener->from_systemd ? " (from systemd)" : "",
                kPm[static_cast<int>(pc.pm)], pc.pm == config::ProcessManager::kStatic ? "" : "at most",
                pc.processes, pc.threads);
    pools_.push_back(std::move(pool));
  }
  return Status::Ok();
}

// A front end retries a refused connection on another upstream for any
// request method, but a connection that waited in the queue of a stopping
// host until its exit was reset after nginx had sent the request: a POST
// then fails. So once every worker on a socket acknowledged the drain (it
// accepts no more), the socket stops listening for everyone. Not before:
// accept() on a stopped TCP socket fails, and a worker that has not yet
// seen the SIGQUIT would count that as an accept error. Not in a fast stop
// (the workers are terminated, nobody acknowledges) and not for sockets
// from systemd, which keeps them for the next start.
void Supervisor::StopListeningWhenDrained() {
  if (stop_mode_ != StopMode::kGraceful) return;
  std::set<const Listener*> accepting;
  for (const auto& [pid, w] : workers_) {
    if (!w->drain_acked && w->listener) accepting.insert(w->listener.get());
  }
  auto stop = [&](const std::shared_ptr<Listener>& l) {
    if (!l || !l->fd || l->from_systemd || l->stopped || accepting.count(l.get()) > 0) return;
    l->stopped = true;
    if (answering_.erase(l->fd.get()) > 0) poller_->Remove(l->fd.get());
    if (l->address.kind == os::ListenAddress::Kind::kUnix) (void)os::RemoveSocketFile(l->address.path);
    if (Status st = os::StopListening(l->fd.get()); !st.ok()) {
      log::Warning("graceful stop: {}: {}", l->address.ToString(), st.message());
      return;
    }
    log::Notice("graceful stop: {} no longer accepts connections", l->address.ToString());
  };
  for (const Pool& p : pools_) stop(p.listener);
  for (const auto& [pid, w] : workers_) stop(w->listener);
}

}  // namespace tfpm::supervisor
