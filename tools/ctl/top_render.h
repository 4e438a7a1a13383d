// pm-ctl top, its text: one frame as plain lines (no escape sequences; the
// terminal side, top.cc, adds clear/home when it draws on a terminal).
//
// Every string from the daemon passes through TerminalText: the URIs and
// methods are client data, and a byte that reached the terminal raw could
// move the cursor, rewrite the screen or set the window title.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tools/ctl/top_model.h"

namespace tfpm::ctl {

// `s` safe to print on a terminal: control bytes (C0, DEL, C1), a
// backslash and bytes that are not well-formed UTF-8 become \xHH
// (base::EscapeForLog), and Unicode's invisible direction controls
// (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069), which reorder what
// follows them on screen, become \u{HHHH}. Then cut to at most `width`
// characters (code points; 0 = no limit), the cut marked with "...".
std::string TerminalText(std::string_view s, size_t width);

// 1536 -> "1.5K", 52428800 -> "50.0M" (binary units).
std::string HumanBytes(uint64_t bytes);

struct RenderOptions {
  size_t width = 0;        // columns; 0 = lines are not cut (--once, batch)
  size_t max_busy = 0;     // busy-thread lines at most; 0 = all
  double interval_s = 1;   // shown in the header
  std::string pool;        // --pool: only this pool ("" = all)
  std::string clock;       // the wall time shown in the header ("12:03:04")
};

std::string RenderFrame(const TopFrame& frame, const RenderOptions& options);

}  // namespace tfpm::ctl
