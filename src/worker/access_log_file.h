// The file a worker writes its pool's access log to: opened by the worker
// with O_APPEND, one write(2) per line, so lines from every thread and
// every worker process of the pool land whole (as php-fpm's children
// share one O_APPEND descriptor). No lock: the descriptor number never
// changes; Reopen() swaps the file under it with dup2(), which is atomic
// for a concurrent write.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "sapi/php_embed.h"

namespace tfpm::worker {

class AccessLogFile final : public sapi::AccessLogSink {
 public:
  AccessLogFile() = default;
  ~AccessLogFile();
  AccessLogFile(const AccessLogFile&) = delete;
  AccessLogFile& operator=(const AccessLogFile&) = delete;

  // Opens (creating, mode 0600 as php-fpm) `path` for appending.
  Status Open(const std::string& path);
  // Takes the descriptor the supervisor opened (ipc/worker_process.h).
  void Adopt(int fd);
  // Puts `fd` (the reopened file, from the supervisor) in place of the
  // current one, under the same number; closes `fd`.
  Status Replace(int fd);
  // After logrotate renamed the file: opens `path` again in place of the
  // old one. On failure the old file stays in use. No-op for an adopted
  // descriptor (the supervisor sends the new one: Replace).
  Status Reopen();
  // Any thread.
  void Write(std::string_view line) override;

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace tfpm::worker
