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

namespace tfpm::scoreboard {

inline constexpr uint32_t kMagic = 0x7466706d;  // "tfpm"
inline constexpr uint32_t kVersion = 3;

enum class ThreadState : uint32_t {
  kStarting = 0,  // interpreter being created
  kIdle = 1,      // waiting for a request
  kReading = 2,   // reading request params
  kRunning = 3,   // PHP running
  kFinishing = 4, // request shutdown
  kStopped = 5,
  kFailed = 6,    // worker mode: the script failed too often; answers 503
};
std::string_view ThreadStateName(ThreadState s);

struct ThreadSlot {
  std::atomic<uint32_t> seq;
  std::atomic<uint32_t> state;
  uint64_t requests;          // served by this thread since start
  int64_t request_start_us;   // CLOCK_REALTIME, 0 when idle
  int64_t last_duration_us;
  uint64_t last_memory;       // peak bytes of the last request
  int32_t last_status;
  char method[16];
  char uri[512];
  char script[512];
};

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
};

inline size_t SegmentSize(uint32_t threads) { return sizeof(Header) + threads * sizeof(ThreadSlot); }

// A view over a mapped segment. Cheap to copy; does not own the memory.
class Segment {
 public:
  Segment(void* data, size_t size) : data_(static_cast<char*>(data)), size_(size) {}

  // Writer side (the worker): once, before threads start.
  void Initialize(uint32_t threads, int32_t pid, int64_t start_time_us);
  // Reader side: false if the header is not a valid segment of this size.
  bool Valid() const;

  Header* header() const { return reinterpret_cast<Header*>(data_); }
  ThreadSlot* slot(uint32_t i) const {
    return reinterpret_cast<ThreadSlot*>(data_ + sizeof(Header)) + i;
  }

 private:
  char* data_;
  size_t size_;
};

// Writer helpers for one slot (called by its own thread only).
class SlotWriter {
 public:
  explicit SlotWriter(ThreadSlot* slot) : slot_(slot) {}
  void SetState(ThreadState s) { slot_->state.store(static_cast<uint32_t>(s), std::memory_order_relaxed); }
  void BeginRequest(int64_t now_us, std::string_view method, std::string_view uri, std::string_view script);
  void EndRequest(int64_t now_us, int status, uint64_t memory);

 private:
  ThreadSlot* slot_;
};

// A consistent copy of one slot, for status output.
struct ThreadSnapshot {
  ThreadState state = ThreadState::kStopped;
  uint64_t requests = 0;
  int64_t request_start_us = 0;
  int64_t last_duration_us = 0;
  uint64_t last_memory = 0;
  int32_t last_status = 0;
  std::string method, uri, script;
};
bool ReadSlot(const ThreadSlot& slot, ThreadSnapshot* out);

int64_t RealtimeMicros();

}  // namespace tfpm::scoreboard
