#include "supervisor/output_lines.h"

#include <algorithm>

namespace tfpm::supervisor {

size_t OutputLines::Feed(std::string_view data, size_t room, const Sink& emit) {
  if (room == 0) room = 1;
  size_t cuts = 0;
  while (!data.empty()) {
    const size_t nl = data.find('\n');
    std::string_view segment = data.substr(0, nl);
    while (!segment.empty()) {
      // Full, and more of the same line follows: log what is held as one
      // piece. (Cut only then, so a line of exactly `room` bytes stays one
      // line and no empty piece is ever logged.)
      if (partial_.size() >= room) {
        emit(std::string_view(partial_).substr(0, room));
        partial_.erase(0, room);
        if (!cut_) {
          cut_ = true;
          ++cuts;
        }
        continue;
      }
      const size_t take = std::min(room - partial_.size(), segment.size());
      partial_.append(segment.substr(0, take));
      segment.remove_prefix(take);
    }
    if (nl == std::string_view::npos) break;
    emit(partial_);
    partial_.clear();
    cut_ = false;
    data.remove_prefix(nl + 1);
  }
  return cuts;
}

void OutputLines::Finish(const Sink& emit) {
  if (!partial_.empty()) emit(partial_);
  partial_.clear();
  cut_ = false;
}

}  // namespace tfpm::supervisor
