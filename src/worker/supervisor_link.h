// SupervisorLink: a worker process's side of its notify socket to the
// supervisor (ipc/notify.h): the lines it sends ("ready",
// "draining", "recycle <cause>") and the descriptors it receives. An
// interface so the main thread (worker/main_thread.h) is unit-tested with a
// fake; NotifySocket is the real one.
//
// Thread-safety: the main thread only (PHP threads use the socket through
// Dispatcher's hand-over and the status client, which write whole messages).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "os/unique_fd.h"
#include "worker/process_recycler.h"

namespace tfpm::worker {

// The recycle line for `cause` (kMaxRequests or kMemory), with its "\n"
// (ipc/notify.h).
std::string RecycleLine(RecycleCause cause);

class SupervisorLink {
 public:
  virtual ~SupervisorLink() = default;

  // The socket, for the main thread's poll(); -1 when the worker runs
  // without a supervisor (every Send is then a no-op).
  virtual int fd() const = 0;
  // Best effort: a failed send is not an error (the supervisor may be gone;
  // the receive side then sees EOF).
  virtual void SendReady() = 0;
  virtual void SendDraining() = 0;
  virtual void SendRecycle(RecycleCause cause) = 0;

  struct Received {
    // EOF or a receive error: the supervisor is gone.
    bool closed = false;
    // The tag of the descriptors: the last byte read with them
    // (ipc::kTagConnection when no byte came).
    char tag = 0;
    std::vector<os::UniqueFd> fds;
  };
  // Reads what is there (the socket is readable).
  virtual Received Receive() = 0;
};

// The real link over the socket at `fd` (-1: none). Does not own it (the
// Dispatcher hands kept connections over through the same number).
class NotifySocket final : public SupervisorLink {
 public:
  explicit NotifySocket(int fd) : fd_(fd) {}
  int fd() const override { return fd_; }
  void SendReady() override;
  void SendDraining() override;
  void SendRecycle(RecycleCause cause) override;
  Received Receive() override;

 private:
  const int fd_;
};

}  // namespace tfpm::worker
