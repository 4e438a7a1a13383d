// The bodies of a worker process's PHP threads, one per pool mode. Each runs
// on a thread the Dispatcher started (Dispatcher::ThreadMain), creates its own
// interpreter (sapi::PhpThreadScope), serves through Dispatcher::ServeOne until
// that returns false, and keeps its scoreboard slot's state current.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "config/config.h"
#include "scoreboard/scoreboard.h"
#include "worker/dispatcher.h"

namespace tfpm::worker {

// Per-request CPU time for the status page's "last request cpu" is measured
// only when the pool has a status page (it costs a system call twice per
// request). Call before the PHP threads start; read-only after.
void SetMeasureCpu(bool on);

// A classic pool's PHP thread: each request runs SCRIPT_FILENAME in a full
// PHP request cycle. The thread's interpreter (its TSRM context: persistent
// resources such as pfsockopen() sockets and persistent database links,
// extension globals) is replaced after max_requests, and after any request
// that ended on a fatal error or a bailout: the engine unwound that request
// mid-way, so state held across requests may be half-changed (a persistent
// connection inside a transaction, an extension's global in mid-update).
// And after a request whose Zend heap peaked over memory_recycle: the Zend
// allocator keeps up to the average of recent peaks in cached chunks after
// a request, so a thread that served a large request holds on to that
// memory until its interpreter is replaced, or until it trims: when idle
// (the Dispatcher's idle_trim), or between two requests after a request's
// peak left pages it no longer needs (busy_trim, worker/idle_trim.h).
void ClassicThread(int index, Dispatcher& srv, scoreboard::Segment& board, uint64_t max_requests,
                   uint64_t memory_recycle, std::chrono::milliseconds busy_trim);

// Shared by the worker-mode threads of this process; read-only after
// start except `epoch`, which the main thread bumps when a watched file
// changes.
struct WorkerModeContext {
  const config::PoolConfig* pool = nullptr;
  std::atomic<uint64_t> epoch{0};
};

// A worker pool's PHP thread: runs the app script, which serves requests
// through tfpm_handle_request(), again and again: after max_requests or
// memory_recycle (fresh interpreter), after a failure (with backoff), until
// the server stops. Too many consecutive failures leave the thread failed:
// it answers 503 until the pool is restarted.
void WorkerModeThread(int index, Dispatcher& srv, scoreboard::Segment& board, WorkerModeContext& ctx);

}  // namespace tfpm::worker
