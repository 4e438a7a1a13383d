// The scoreboard: per-thread request state of one worker process, in a
// shared-memory segment that the supervisor created for that process alone
// (os/shared_memory.h). The worker writes, the supervisor reads; a worker
// that crashes can garble only its own segment, and the supervisor
// validates the header before trusting any slot.
//
// Each ThreadSlot has exactly one writer, the PHP thread it belongs to. Its
// fields are published with a sequence lock: the writer makes `seq` odd,
// writes, makes it even; a reader retries while `seq` is odd or changed.
// Readers in other processes never block the writer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/restart_cause.h"
#include "scoreboard/histogram.h"

namespace tfpm::scoreboard {

inline constexpr uint32_t kMagic = 0x7466706d;  // "tfpm"
inline constexpr uint32_t kVersion = 10;  // 10: Limit::kUserIniCacheFull

enum class ThreadState : uint32_t {
  kStarting = 0,  // interpreter being created
  kIdle = 1,      // waiting for a request (also while reading its params)
  kRunning = 3,   // serving a request
  kStopped = 5,   // no thread in this slot
  kFailed = 6,    // worker mode: the script failed too often; answers 503
  // 2 and 4 (php-fpm's "Reading headers", "Finishing") are not used: a
  // thread is Idle until its request's params are in, Running until its
  // answer is sent.
};
std::string_view ThreadStateName(ThreadState s);

// How a thread counts, for everything that counts threads: the status page
// and fpm_get_status(), pm-ctl status, systemd's STATUS= line, pm scaling,
// and the requests reported in flight when a worker dies. One function, so
// those views cannot disagree. The state comes from another process's
// shared memory: a value outside the enum is kAbsent.
enum class ThreadClass {
  kAbsent,    // no thread (Stopped, or garbled)
  kStarting,  // neither idle nor active
  kIdle,      // can take a request: "idle" everywhere
  kActive,    // serving a request: "active"/"busy" everywhere
  kFailed,    // neither idle nor active
};
ThreadClass Classify(ThreadState s);

struct ThreadSlot {
  std::atomic<uint32_t> seq;
  std::atomic<uint32_t> state;
  uint64_t requests;          // accepted by this thread since start (counted when one begins)
  int64_t start_us;           // CLOCK_REALTIME: when this thread's interpreter started
  int64_t request_start_us;   // CLOCK_REALTIME, 0 when idle
  int64_t last_duration_us;
  int64_t cpu_start_ns;       // the thread's CPU time when the request began
  int64_t last_cpu_us;        // CPU time the last request used
  uint64_t last_memory;       // peak bytes of the last request
  uint64_t memory_peak;       // the largest last_memory so far
  uint64_t content_length;    // of the current (or last) request
  int32_t last_status;
  char method[16];
  char uri[512];              // REQUEST_URI
  char script[512];           // SCRIPT_FILENAME
  char script_name[256];      // SCRIPT_NAME (php-fpm's status shows it as "request URI")
  char query[256];            // QUERY_STRING
  char user[64];              // PHP_AUTH_USER of the last request
  int64_t wait_us;            // the current request's queue wait (scoreboard/histogram.h)
  RequestStats stats;         // histograms and status classes of finished requests
};

// What a worker did to protect itself from one client (the limits of
// docs/security.md: connections, and a PHP thread's .user.ini cache):
// each trip of a limit counts once in the process's Header, the supervisor
// sums them per pool and the status page shows them after php-fpm's fields.
enum class Limit : uint32_t {
  kMaxConnections = 0,  // a new connection refused: max_connections open
  kIdleTimeout,         // a parked connection closed after connection_idle_timeout
  kHeaderTimeout,       // a request's PARAMS not complete within request_header_timeout
  kParams,              // a request refused: max_params_size or max_params
  kOutput,              // a connection closed: max_connection_output buffered unread
  kProtocol,            // a connection closed: a record the server side does not accept
  kAcceptErrors,        // accept() failed for lack of descriptors or memory (then backs off)
  kClientsRefused,      // a TCP peer not in listen_allowed_clients, closed after accept
  kUserIniCacheFull,    // a PHP thread's .user.ini cache emptied at user_ini_cache_entries
  kCount,
};
inline constexpr size_t kLimitCount = static_cast<size_t>(Limit::kCount);
// JSON key (status JSON, pm-ctl) and status-page label of each counter:
// header-only, the one list every reader (supervisor, status page, pm-ctl)
// uses.
struct LimitName {
  std::string_view key, label;
};
inline constexpr LimitName kLimitNames[kLimitCount] = {
    {"connections_refused", "connections refused"},
    {"idle_connections_closed", "idle connections closed"},
    {"header_timeouts", "header timeouts"},
    {"params_refused", "params refused"},
    {"output_limit_closed", "output limit closed"},
    {"protocol_errors", "protocol errors"},
    {"accept_errors", "accept errors"},
    {"clients_refused", "clients refused"},
    {"user_ini_cache_full", "user ini cache full"},
};
inline std::string_view LimitKey(Limit l) { return kLimitNames[static_cast<size_t>(l)].key; }
inline std::string_view LimitLabel(Limit l) { return kLimitNames[static_cast<size_t>(l)].label; }

struct Header {
  std::atomic<uint32_t> magic;
  uint32_t version;
  uint32_t thread_count;
  int32_t pid;
  int64_t start_time_us;
  std::atomic<uint32_t> accepting;  // 0 once draining
  uint32_t reserved;
  std::atomic<uint64_t> slow_requests;        // slowlog entries written
  std::atomic<uint64_t> terminated_requests;  // ended by request_terminate_timeout
  std::atomic<uint64_t> rejected_requests;    // answered 503 by max_wait_time
  std::atomic<uint64_t> memory_recycles;      // interpreters recycled by memory_recycle (classic)
  std::atomic<uint64_t> limits[kLimitCount];  // indexed by Limit
  void Count(Limit l) { limits[static_cast<size_t>(l)].fetch_add(1, std::memory_order_relaxed); }
  uint64_t Read(Limit l) const { return limits[static_cast<size_t>(l)].load(std::memory_order_relaxed); }
  // Restarts of a thread's interpreter / worker script, by cause
  // (base/restart_cause.h).
  std::atomic<uint64_t> restarts[base::kRestartCauseCount];
  // Worker mode leak_check: state items found changed after a request.
  std::atomic<uint64_t> state_leaks;
  // Idle PHP threads that gave their free memory back (idle_trim).
  std::atomic<uint64_t> idle_trims;
  void CountRestart(base::RestartCause c) {
    restarts[static_cast<size_t>(c)].fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t ReadRestarts(base::RestartCause c) const {
    return restarts[static_cast<size_t>(c)].load(std::memory_order_relaxed);
  }
};

inline size_t SegmentSize(uint32_t threads) { return sizeof(Header) + threads * sizeof(ThreadSlot); }

// A view over a mapped segment. Cheap to copy; does not own the memory.
class Segment {
 public:
  // `owner`: the pid of the process the segment belongs to as the reader
  // knows it (the supervisor: the worker it started); 0 = take the header's.
  Segment(void* data, size_t size, int32_t owner = 0)
      : data_(static_cast<char*>(data)), size_(size), owner_(owner) {}

  // Writer side (the worker): once, before threads start.
  void Initialize(uint32_t threads, int32_t pid, int64_t start_time_us);
  // Reader side: false if the header is not a valid segment of this size.
  bool Valid() const;
  // Reader side: the number of thread slots, read once; 0 unless that many
  // fit in the mapping. The worker, and the PHP code it runs, can write its
  // segment at any moment (docs/security.md "Trust boundaries"): readers
  // loop up to this value, never up to header()->thread_count, which may
  // change between Valid() and the next read.
  uint32_t Threads() const;

  Header* header() const { return reinterpret_cast<Header*>(data_); }
  // The process's pid: `owner` when given, never what a worker wrote about
  // itself (it could name another pool's process on its status page).
  int32_t Pid() const { return owner_ != 0 ? owner_ : header()->pid; }
  ThreadSlot* slot(uint32_t i) const {
    return reinterpret_cast<ThreadSlot*>(data_ + sizeof(Header)) + i;
  }

 private:
  char* data_;
  size_t size_;
  int32_t owner_;
};

// Writer helpers for one slot (called by its own thread only).
class SlotWriter {
 public:
  explicit SlotWriter(ThreadSlot* slot) : slot_(slot) {}
  void SetState(ThreadState s) { slot_->state.store(static_cast<uint32_t>(s), std::memory_order_relaxed); }
  // The thread's interpreter (re)started: start time for the status page.
  void Started(int64_t now_us);
  struct Request {
    std::string_view method, uri, script, script_name, query;
    uint64_t content_length = 0;
    int64_t wait_us = 0;  // from the request's arrival to now: its queue wait
  };
  // `cpu_ns`: the thread's CPU clock (CLOCK_THREAD_CPUTIME_ID) now.
  void BeginRequest(int64_t now_us, int64_t cpu_ns, const Request& r);
  // Also records the request in the slot's RequestStats (its duration,
  // the wait given to BeginRequest, its status class).
  void EndRequest(int64_t now_us, int64_t cpu_ns, int status, uint64_t memory, std::string_view user);

 private:
  ThreadSlot* slot_;
};

// A consistent copy of one slot, for status output.
struct ThreadSnapshot {
  ThreadState state = ThreadState::kStopped;
  uint64_t requests = 0;
  int64_t start_us = 0;
  int64_t request_start_us = 0;
  int64_t last_duration_us = 0;
  int64_t last_cpu_us = 0;
  uint64_t last_memory = 0;
  uint64_t memory_peak = 0;
  uint64_t content_length = 0;
  int32_t last_status = 0;
  std::string method, uri, script, script_name, query, user;
};
// How long ReadSlot() waits for a slot's writer to finish an update before
// it gives up (returns false).
inline constexpr int64_t kReadSlotBudgetUs = 10'000;
bool ReadSlot(const ThreadSlot& slot, ThreadSnapshot* out);

int64_t RealtimeMicros();
// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), nanoseconds.
int64_t ThreadCpuNanos();

}  // namespace tfpm::scoreboard
