#include "scoreboard/scoreboard.h"

#include <time.h>

#include <algorithm>

namespace tfpm::scoreboard {
namespace {

template <size_t N>
void CopyField(char (&dst)[N], std::string_view src) {
  const size_t n = std::min(src.size(), N - 1);
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

}  // namespace

std::string_view ThreadStateName(ThreadState s) {
  switch (s) {
    case ThreadState::kStarting: return "Starting";
    case ThreadState::kIdle: return "Idle";
    case ThreadState::kReading: return "Reading headers";
    case ThreadState::kRunning: return "Running";
    case ThreadState::kFinishing: return "Finishing";
    case ThreadState::kStopped: return "Stopped";
    case ThreadState::kFailed: return "Failed";
  }
  return "Unknown";
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
  return h->magic.load(std::memory_order_acquire) == kMagic && h->version == kVersion &&
         SegmentSize(h->thread_count) <= size_;
}

void SlotWriter::BeginRequest(int64_t now_us, std::string_view method, std::string_view uri,
                              std::string_view script) {
  // Odd: a write is in progress. The acquire half keeps the field stores
  // below from moving above it (no fence: TSan does not model fences).
  slot_->seq.fetch_add(1, std::memory_order_acq_rel);
  slot_->request_start_us = now_us;
  CopyField(slot_->method, method);
  CopyField(slot_->uri, uri);
  CopyField(slot_->script, script);
  slot_->state.store(static_cast<uint32_t>(ThreadState::kRunning), std::memory_order_relaxed);
  slot_->seq.fetch_add(1, std::memory_order_release);  // even again
}

void SlotWriter::EndRequest(int64_t now_us, int status, uint64_t memory) {
  // Odd: a write is in progress. The acquire half keeps the field stores
  // below from moving above it (no fence: TSan does not model fences).
  slot_->seq.fetch_add(1, std::memory_order_acq_rel);
  slot_->last_duration_us = now_us - slot_->request_start_us;
  slot_->request_start_us = 0;
  slot_->last_status = status;
  slot_->last_memory = memory;
  slot_->requests += 1;
  slot_->state.store(static_cast<uint32_t>(ThreadState::kIdle), std::memory_order_relaxed);
  slot_->seq.fetch_add(1, std::memory_order_release);  // even again
}

bool ReadSlot(const ThreadSlot& slot, ThreadSnapshot* out) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const uint32_t before = slot.seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    ThreadSnapshot snap;
    snap.state = static_cast<ThreadState>(slot.state.load(std::memory_order_relaxed));
    snap.requests = slot.requests;
    snap.request_start_us = slot.request_start_us;
    snap.last_duration_us = slot.last_duration_us;
    snap.last_memory = slot.last_memory;
    snap.last_status = slot.last_status;
    snap.method.assign(slot.method, strnlen(slot.method, sizeof(slot.method)));
    snap.uri.assign(slot.uri, strnlen(slot.uri, sizeof(slot.uri)));
    snap.script.assign(slot.script, strnlen(slot.script, sizeof(slot.script)));
    // A read-modify-write that changes nothing: its release half keeps the
    // field loads above from moving below the re-check.
    if (const_cast<ThreadSlot&>(slot).seq.fetch_add(0, std::memory_order_acq_rel) == before) {
      *out = std::move(snap);
      return true;
    }
  }
  return false;
}

}  // namespace tfpm::scoreboard
