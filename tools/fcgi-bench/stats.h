// Counters of a load run, kept per client thread and merged at the end.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "base/status.h"
#include "tools/fcgi-bench/histogram.h"
#include "tools/fcgi-bench/validate.h"

namespace tfpm::bench {

struct Stats {
  uint64_t ok = 0;                                   // requests that passed validation
  std::array<uint64_t, kErrorKindCount> errors{};    // failed requests, by ErrorKind
  std::array<std::string, kErrorKindCount> first_error{};  // first message of each kind
  uint64_t bytes_written = 0;  // request bytes sent (measured requests only)
  uint64_t bytes_read = 0;     // response bytes received (measured requests only)
  uint64_t body_bytes = 0;     // CGI body bytes of successful requests
  uint64_t connections_opened = 0;  // successful connect()s, warm-up included
  Histogram latency_ns;        // successful requests only, nanoseconds

  uint64_t error_total() const;
  // Counts one finished request: a success records `latency_ns`; a failure
  // counts its kind and keeps the first message of that kind.
  void Count(const Verdict& verdict, uint64_t latency_ns);
  // Adds `other`'s counters (first messages: ours win). Fails only if the
  // histograms have different precisions.
  Status Merge(const Stats& other);
};

}  // namespace tfpm::bench
