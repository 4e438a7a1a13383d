// The contract between the supervisor and a worker process it starts
// (supervisor/spawn_plan.cc writes the descriptor table and the command
// line; in the worker, worker/worker_args.cc reads them,
// worker/supervisor_link.cc sends the lines and receives,
// worker/handover.cc routes the tags): the descriptor numbers and the
// command-line flags a worker is started with. What travels later over the
// worker's notify socket (text lines; descriptors with a one-byte tag) is
// ipc/notify.h.
//
// Why the supervisor opens the log files: a worker that switched to a pool's
// user can no longer open files only root may write (the error log, an
// access log or slowlog under /var/log). The supervisor opens them (as
// php-fpm's master does) and hands the descriptors over at start; after
// reopen-logs (SIGUSR1, pm-ctl reopen-logs) it opens them again and sends
// the new descriptors, which the worker puts in place of the old ones with
// dup3() under the same number, so writers on other threads never see a
// closed descriptor.
#pragma once

#include "ipc/notify.h"

namespace tfpm::ipc {

// Descriptors in a freshly started worker.
inline constexpr int kConfigFd = 3;      // sealed memfd with the config bytes
inline constexpr int kNotifyFd = 4;      // socketpair to the supervisor
inline constexpr int kScoreboardFd = 5;  // this process's scoreboard segment
inline constexpr int kLogFd = 6;         // the error log: the supervisor's stderr, or the error_log file
inline constexpr int kListenFd = 7;      // the pool's listening socket
inline constexpr int kAccessLogFd = 8;   // the pool's access_log, if set (O_APPEND)
inline constexpr int kSlowlogFd = 9;     // the pool's slowlog, if set (O_APPEND)

// The command line: `tfpm <flag> <value> ...`, each flag followed by its
// value (the descriptor flags by the numbers above).
inline constexpr char kArgPool[] = "--pool";                  // the pool's name
inline constexpr char kArgSource[] = "--source";              // where the config came from (for messages)
inline constexpr char kArgConfigFd[] = "--config-fd";         // kConfigFd
inline constexpr char kArgNotifyFd[] = "--notify-fd";         // kNotifyFd
inline constexpr char kArgScoreboardFd[] = "--scoreboard-fd"; // kScoreboardFd
inline constexpr char kArgListenFds[] = "--listen-fds";       // kListenFd
inline constexpr char kArgTotalThreads[] = "--total-threads"; // threads x processes of the pool
inline constexpr char kArgStartupReported[] = "--startup-reported";  // "1": a restart, not the first start
inline constexpr char kArgLogFd[] = "--log-fd";               // kLogFd: the supervisor's stderr
inline constexpr char kArgLogFileFd[] = "--log-file-fd";      // kLogFd: the error_log file
inline constexpr char kArgAccessLogFd[] = "--access-log-fd";  // kAccessLogFd
inline constexpr char kArgSlowlogFd[] = "--slowlog-fd";       // kSlowlogFd

// The notify socket's messages and descriptor tags: ipc/notify.h.

}  // namespace tfpm::ipc
