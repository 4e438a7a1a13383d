// pm-ctl top, its data: the supervisor's `status` reply with "detail": true
// (docs/control-protocol.md) read into plain structs, and what one refresh
// adds to what the previous ones saw (requests per second, the slowest
// recent requests).
//
// The reply is read with every key's type checked: a missing or mistyped
// key is an error naming it ("status: pools[1].processes[0].threads[2].uri:
// missing"), never a silent 0 (a daemon of another version, or a bug,
// shows as such). Strings are shown only through top_render.h's
// TerminalText, which escapes control bytes: they hold client data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "control/protocol.h"

namespace tfpm::ctl {

struct TopThread {
  uint64_t index = 0;
  std::string state;  // Starting, Idle, Running, Failed
  uint64_t requests = 0;
  // While Running: the request so far.
  bool running = false;
  double duration_ms = 0;
  std::string method, uri;
  // The last finished request (of an idle thread, with its method and URI).
  bool has_last = false;
  double last_duration_ms = 0;
  int64_t last_status = 0;
  uint64_t last_memory = 0;
  std::string last_method, last_uri;
};

struct TopProcess {
  std::string pool;
  int64_t pid = 0;
  std::string state;  // starting, ready, stopping
  uint64_t requests = 0;
  std::optional<uint64_t> rss_bytes;  // nullopt: the daemon could not read it
  bool current = true;                // false: previous_generations (draining)
  std::vector<TopThread> threads;
};

struct TopPool {
  std::string name, listen, pm;
  bool failed = false;
  uint64_t busy = 0, idle = 0, starting = 0;
  uint64_t requests = 0, slow = 0, terminated = 0, rejected = 0;
  uint64_t crashes = 0;  // worker processes killed by a signal the supervisor did not send
  std::optional<uint64_t> listen_queue, listen_queue_limit;  // nullopt: unknown
  std::vector<TopProcess> processes;                          // current generation
};

struct TopSample {
  std::string version, php;
  int64_t pid = 0;
  double uptime_s = 0;
  uint64_t generation = 0;
  bool reloading = false, stopping = false;
  std::vector<TopPool> pools;
  std::vector<TopProcess> previous;  // earlier generations still draining
};

// Reads a status reply (with "detail": true).
Result<TopSample> ParseTopSample(const control::Json& reply);

// One line of the busy or the recent table.
struct TopRequest {
  std::string pool;
  int64_t pid = 0;
  uint64_t thread = 0;
  double duration_ms = 0;
  std::string method, uri;
  int64_t status = 0;           // recent only
  uint64_t memory = 0;          // recent: the request's peak
  std::optional<uint64_t> rss;  // busy: its process's resident memory
};

// What a frame shows, from the latest sample and what the earlier ones saw.
struct TopFrame {
  const TopSample* sample = nullptr;
  // Per pool (same order as sample->pools): requests per second since the
  // previous sample, nullopt on the first.
  std::vector<std::optional<double>> rates;
  std::vector<TopRequest> busy;    // running requests, slowest first
  std::vector<TopRequest> recent;  // slowest finished requests seen, slowest first
};

// Keeps what refreshes need from each other: each process's request count
// (for requests per second; a process that was not there before counts
// whole, so a reload does not show a drop) and the slowest finished
// requests seen. It samples: a thread that finished several requests
// between two refreshes shows only its last one.
class TopHistory {
 public:
  explicit TopHistory(size_t keep_recent = 10) : keep_recent_(keep_recent) {}
  // Takes `sample` taken `seconds` after the previous one (ignored on the
  // first); `pool` filters the view ("" = every pool). The frame points
  // into `sample`, which must outlive it.
  TopFrame Add(const TopSample& sample, double seconds, const std::string& pool);

 private:
  size_t keep_recent_;
  bool first_ = true;
  std::map<int64_t, uint64_t> process_requests_;                   // pid -> requests
  std::map<std::pair<int64_t, uint64_t>, uint64_t> last_recorded_;  // (pid, thread) -> its requests then
  std::vector<TopRequest> recent_;
};

}  // namespace tfpm::ctl
