// OutputLines: what a worker writes to its captured stdout/stderr
// (catch_workers_output), cut into log lines as php-fpm's zlog stream cuts
// them: each line logged holds at most `room` bytes of output, and a longer
// line is logged in pieces of `room` bytes as its bytes arrive. So a worker
// that writes a huge line without a newline costs the supervisor at most
// `room` bytes of memory, and every byte is looked at once.
//
// Not thread-safe: one per worker, used by the supervisor's loop.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace tfpm::supervisor {

class OutputLines {
 public:
  using Sink = std::function<void(std::string_view piece)>;

  // Takes `data`; calls `emit` for each complete line or piece, in order.
  // `room` (>= 1) is the most a piece may hold; a newline ends a line and
  // is not part of it. Returns how many lines became longer than `room`
  // in this call (each counted once, when its first piece is cut).
  size_t Feed(std::string_view data, size_t room, const Sink& emit);
  // The output ended (the worker exited): the rest of an unterminated line.
  void Finish(const Sink& emit);
  // Bytes held for the line not finished yet (at most `room`).
  size_t pending() const { return partial_.size(); }

 private:
  std::string partial_;
  bool cut_ = false;  // the current line has been logged in part already
};

}  // namespace tfpm::supervisor
