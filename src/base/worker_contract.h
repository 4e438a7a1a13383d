// The contract between the supervisor and a worker process it starts
// (supervisor/supervisor.cc sends; in the worker, worker/worker_args.cc
// reads the descriptor numbers, worker/supervisor_link.cc sends the lines
// and receives, worker/handover.cc routes the tags): the
// descriptor numbers a worker is started with, and the one-byte tags of the
// descriptors that travel later over the worker's notify socket (SCM_RIGHTS,
// os::SendFd: one byte per descriptor; a receive returns at most one
// descriptor-carrying byte, the last one read).
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

namespace tfpm::worker_contract {

// Descriptors in a freshly started worker.
inline constexpr int kConfigFd = 3;      // sealed memfd with the config bytes
inline constexpr int kNotifyFd = 4;      // socketpair to the supervisor
inline constexpr int kScoreboardFd = 5;  // this process's scoreboard segment
inline constexpr int kLogFd = 6;         // the error log: the supervisor's stderr, or the error_log file
inline constexpr int kListenFd = 7;      // the pool's listening socket
inline constexpr int kAccessLogFd = 8;   // the pool's access_log, if set (O_APPEND)
inline constexpr int kSlowlogFd = 9;     // the pool's slowlog, if set (O_APPEND)

// Tags of descriptors sent over the notify socket.
inline constexpr char kTagConnection = 'c';  // a kept FastCGI connection (both directions)
inline constexpr char kTagStatus = 's';      // worker -> supervisor: status query (reply socket)
inline constexpr char kTagStatusFull = 'S';  // the same, ?full
inline constexpr char kTagStatusReply = 'r'; // supervisor -> worker: the status JSON (memfd)
inline constexpr char kTagErrorLog = 'E';    // supervisor -> worker: reopened error_log file (for kLogFd)
inline constexpr char kTagAccessLog = 'A';   // supervisor -> worker: reopened access_log (for kAccessLogFd)
inline constexpr char kTagSlowlog = 'W';     // supervisor -> worker: reopened slowlog (for kSlowlogFd)

// Text messages on the notify socket, worker -> supervisor, each one line
// ("ready\n" and "draining\n" predate this list and are matched as words).
//
// A worker that wants to be replaced (process recycling: process_max_requests
// or process_memory_limit, worker/process_recycler.h) sends
// kRecycleMessage + cause + "\n", cause one of kRecycleCauses. It keeps
// serving; the supervisor starts a replacement in its slot and drains it
// (SIGQUIT) once the replacement is ready, so no request is refused or cut.
// The worker repeats the message every second until it drains; the
// supervisor ignores repeats, and defers the request (retrying it itself)
// while another process of the pool is being replaced, during a reload or
// at process_max.
inline constexpr char kRecycleMessage[] = "recycle ";
inline constexpr const char* kRecycleCauses[] = {"max_requests", "memory"};

}  // namespace tfpm::worker_contract
