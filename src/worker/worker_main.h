// The worker process role: `tfpm-worker`, exec'd by the supervisor.
//
// Descriptors it is given (numbers in ipc/worker_process.h):
// the config bytes the supervisor validated (a sealed memfd), the listening
// sockets of its pool, its scoreboard segment, and one end of a socketpair
// to the supervisor (it writes "ready\n" once its threads serve; EOF on it
// means the supervisor is gone).
//
// Signals (php-fpm's meanings): SIGQUIT graceful stop (drain, then exit),
// SIGTERM/SIGINT immediate exit, SIGUSR1 reopen logs.
#pragma once

namespace tfpm::worker {

int WorkerMain(int argc, char** argv);

}  // namespace tfpm::worker
