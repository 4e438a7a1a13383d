#include "tools/fcgi-bench/stats.h"

namespace tfpm::bench {

uint64_t Stats::error_total() const {
  uint64_t total = 0;
  for (uint64_t n : errors) total += n;
  return total;
}

void Stats::Count(const Verdict& verdict, uint64_t latency) {
  if (verdict.ok) {
    ++ok;
    body_bytes += verdict.body_bytes;
    latency_ns.Record(latency);
    return;
  }
  const size_t i = ErrorKindIndex(verdict.kind);
  ++errors[i];
  if (first_error[i].empty()) first_error[i] = verdict.message.empty() ? "(no message)" : verdict.message;
}

Status Stats::Merge(const Stats& other) {
  Status s = latency_ns.Merge(other.latency_ns);
  if (!s.ok()) return s;
  ok += other.ok;
  for (size_t i = 0; i < kErrorKindCount; ++i) {
    errors[i] += other.errors[i];
    if (first_error[i].empty()) first_error[i] = other.first_error[i];
  }
  bytes_written += other.bytes_written;
  bytes_read += other.bytes_read;
  body_bytes += other.body_bytes;
  connections_opened += other.connections_opened;
  return Status::Ok();
}

}  // namespace tfpm::bench
