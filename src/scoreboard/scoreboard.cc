#include "scoreboard/scoreboard.h"

#include <time.h>

#include <algorithm>
#include <atomic>

#include "base/clock.h"
#include "base/utf8.h"
#include "os/cpu_yield.h"

namespace tfpm::scoreboard {
namespace {

// Cuts at a character boundary: a long UTF-8 query or URI does not end in
// half a character (the status page sanitises what is left anyway).
template <size_t N>
void CopyField(char (&dst)[N], std::string_view src) {
  const size_t n = base::Utf8Prefix(src, N - 1);
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

}  // namespace

std::string_view ThreadStateName(ThreadState s) {
  switch (s) {
    case ThreadState::kStarting: return "Starting";
    case ThreadState::kIdle: return "Idle";
    case ThreadState::kRunning: return "Running";
    case ThreadState::kStopped: return "Stopped";
    case ThreadState::kFailed: return "Failed";
  }
  return "Unknown";
}

ThreadClass Classify(ThreadState s) {
  switch (s) {
    case ThreadState::kStarting: return ThreadClass::kStarting;
    case ThreadState::kIdle: return ThreadClass::kIdle;
    case ThreadState::kRunning: return ThreadClass::kActive;
    case ThreadState::kFailed: return ThreadClass::kFailed;
    case ThreadState::kStopped: return ThreadClass::kAbsent;
  }
  return ThreadClass::kAbsent;
}

int64_t RealtimeMicros() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

void Segment::Initialize(uint32_t threads, int32_t pid, int64_t start_time_us) {
  std::memset(data_, 0, size_);
  Header* h = header();
  h->version = kVersion;
  h->thread_count = threads;
  h->pid = pid;
  h->start_time_us = start_time_us;
  h->accepting.store(1, std::memory_order_relaxed);
  h->slow_requests.store(0, std::memory_order_relaxed);
  h->terminated_requests.store(0, std::memory_order_relaxed);
  h->rejected_requests.store(0, std::memory_order_relaxed);
  h->memory_recycles.store(0, std::memory_order_relaxed);
  for (auto& c : h->limits) c.store(0, std::memory_order_relaxed);
  for (auto& c : h->restarts) c.store(0, std::memory_order_relaxed);
  h->state_leaks.store(0, std::memory_order_relaxed);
  h->idle_trims.store(0, std::memory_order_relaxed);
  // A slot is Stopped until its thread runs (pm dynamic/ondemand start
  // threads later, and stop some).
  for (uint32_t i = 0; i < threads; ++i) {
    slot(i)->state.store(static_cast<uint32_t>(ThreadState::kStopped), std::memory_order_relaxed);
  }
  h->magic.store(kMagic, std::memory_order_release);
}

bool Segment::Valid() const {
  if (size_ < sizeof(Header)) return false;
  const Header* h = header();
  const uint32_t n = std::atomic_ref<uint32_t>(header()->thread_count).load(std::memory_order_relaxed);
  return h->magic.load(std::memory_order_acquire) == kMagic && h->version == kVersion && SegmentSize(n) <= size_;
}

uint32_t Segment::Threads() const {
  if (size_ < sizeof(Header)) return 0;
  const uint32_t n = std::atomic_ref<uint32_t>(header()->thread_count).load(std::memory_order_relaxed);
  return SegmentSize(n) <= size_ ? n : 0;
}

int64_t ThreadCpuNanos() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void SlotWriter::Started(int64_t now_us) {
  slot_->seq.fetch_add(1, std::memory_order_acq_rel);
  slot_->start_us = now_us;
  slot_->seq.fetch_add(1, std::memory_order_release);
}

void SlotWriter::BeginRequest(int64_t now_us, int64_t cpu_ns, const Request& r) {
  // Odd: a write is in progress. The acquire half keeps the field stores
  // below from moving above it (no fence: TSan does not model fences).
  slot_->seq.fetch_add(1, std::memory_order_acq_rel);
  slot_->request_start_us = now_us;
  slot_->cpu_start_ns = cpu_ns;
  slot_->content_length = r.content_length;
  slot_->requests += 1;  // as php-fpm's "accepted conn": counted when it begins
  slot_->wait_us = r.wait_us;
  CopyField(slot_->method, r.method);
  CopyField(slot_->uri, r.uri);
  CopyField(slot_->script, r.script);
  CopyField(slot_->script_name, r.script_name);
  CopyField(slot_->query, r.query);
  slot_->user[0] = '\0';
  slot_->state.store(static_cast<uint32_t>(ThreadState::kRunning), std::memory_order_relaxed);
  slot_->seq.fetch_add(1, std::memory_order_release);  // even again
}

void SlotWriter::EndRequest(int64_t now_us, int64_t cpu_ns, int status, uint64_t memory, std::string_view user) {
  slot_->seq.fetch_add(1, std::memory_order_acq_rel);
  slot_->last_duration_us = now_us - slot_->request_start_us;
  slot_->last_cpu_us = (cpu_ns - slot_->cpu_start_ns) / 1000;
  slot_->request_start_us = 0;
  slot_->last_status = status;
  slot_->last_memory = memory;
  slot_->memory_peak = std::max(slot_->memory_peak, memory);
  CopyField(slot_->user, user);
  slot_->stats.Record(slot_->last_duration_us, slot_->wait_us, status);
  slot_->state.store(static_cast<uint32_t>(ThreadState::kIdle), std::memory_order_relaxed);
  slot_->seq.fetch_add(1, std::memory_order_release);  // even again
}

bool ReadSlot(const ThreadSlot& slot, ThreadSnapshot* out) {
  // A writer updates a slot in well under a microsecond, but one preempted
  // in the middle of an update (two CPUs shared by every PHP thread) holds
  // it for a scheduler tick, where 100 bare retries took under a
  // microsecond and a busy thread went missing from pm-ctl status. So:
  // retry at once a few times, then yield the CPU between attempts, for up
  // to kReadSlotBudgetUs. A slot never released (a stuck or hostile writer)
  // costs the reader that long, never a hang.
  constexpr int kQuickAttempts = 100;
  int64_t deadline_us = 0;
  for (int attempt = 0;; ++attempt) {
    if (attempt >= kQuickAttempts) {
      const int64_t now_us = base::MonotonicMicros();
      if (deadline_us == 0) {
        deadline_us = now_us + kReadSlotBudgetUs;
      } else if (now_us >= deadline_us) {
        return false;
      }
      os::YieldCpu();
    }
    const uint32_t before = slot.seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    ThreadSnapshot snap;
    snap.state = static_cast<ThreadState>(slot.state.load(std::memory_order_relaxed));
    snap.requests = slot.requests;
    snap.start_us = slot.start_us;
    snap.request_start_us = slot.request_start_us;
    snap.last_duration_us = slot.last_duration_us;
    snap.last_cpu_us = slot.last_cpu_us;
    snap.last_memory = slot.last_memory;
    snap.memory_peak = slot.memory_peak;
    snap.content_length = slot.content_length;
    snap.last_status = slot.last_status;
    auto field = [](std::string& out, const auto& f) { out.assign(f, strnlen(f, sizeof(f))); };
    field(snap.method, slot.method);
    field(snap.uri, slot.uri);
    field(snap.script, slot.script);
    field(snap.script_name, slot.script_name);
    field(snap.query, slot.query);
    field(snap.user, slot.user);
    // A read-modify-write that changes nothing: its release half keeps the
    // field loads above from moving below the re-check.
    if (const_cast<ThreadSlot&>(slot).seq.fetch_add(0, std::memory_order_acq_rel) == before) {
      *out = std::move(snap);
      return true;
    }
  }
}

}  // namespace tfpm::scoreboard
