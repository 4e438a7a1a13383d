#include "worker/limit_report.h"

#include <array>

#include "base/log.h"
#include "base/rate_limit.h"

namespace tfpm::worker {
namespace {

std::array<base::RateLimit, scoreboard::kLimitCount> g_trip_limits;
base::RateLimit g_warn_limit;

}  // namespace

void TripLimit(scoreboard::Header* board, scoreboard::Limit limit, std::string_view what) {
  if (board != nullptr) board->Count(limit);
  uint64_t dropped = 0;
  if (!g_trip_limits[static_cast<size_t>(limit)].Allow(&dropped)) return;
  if (dropped > 0) {
    log::Warning("{} ({} more like it in the last second not logged)", what, dropped);
  } else {
    log::Warning("{}", what);
  }
}

void WarnRateLimited(std::string_view what) {
  uint64_t dropped = 0;
  if (!g_warn_limit.Allow(&dropped)) return;
  if (dropped > 0) {
    log::Warning("{} ({} more warnings about FastCGI input not logged)", what, dropped);
  } else {
    log::Warning("{}", what);
  }
}

}  // namespace tfpm::worker
