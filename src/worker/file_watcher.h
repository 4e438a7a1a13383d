// Watching a worker pool's `watch` paths for changes (inotify).
//
// Not thread-safe: the worker process's main thread only.
#pragma once

#include <string>
#include <vector>

#include "os/unique_fd.h"

namespace tfpm::worker {

// inotify on a worker pool's `watch` paths (each file, or each directory
// and its subdirectories); any change bumps the epoch.
class FileWatcher {
 public:
  // Watches `paths`; false (logged) if inotify is unavailable.
  bool Start(const std::vector<std::string>& paths);
  // -1 before Start.
  int fd() const { return fd_.get(); }
  // Drains pending events; true if any.
  bool Drain();

 private:
  void AddTree(const std::string& path, int depth);
  os::UniqueFd fd_;
};

}  // namespace tfpm::worker
