#include "worker/file_watcher.h"

#include <sys/inotify.h>

#include <filesystem>

#include "base/log.h"
#include "os/inotify.h"

namespace tfpm::worker {

bool FileWatcher::Start(const std::vector<std::string>& paths) {
  auto fd = os::InotifyOpen();
  if (!fd.ok()) {
    log::Error("{}", fd.status().message());
    return false;
  }
  fd_ = std::move(fd.value());
  for (const auto& p : paths) AddTree(p, 0);
  return true;
}

bool FileWatcher::Drain() { return os::InotifyDrain(fd_.get()); }

void FileWatcher::AddTree(const std::string& path, int depth) {
  constexpr uint32_t kMask = IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                             IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB;
  if (Status st = os::InotifyWatch(fd_.get(), path, kMask); !st.ok()) {
    log::Warning("{}", st.message());
    return;
  }
  if (depth >= 16) return;
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) AddTree(entry.path().string(), depth + 1);
  }
}

}  // namespace tfpm::worker
