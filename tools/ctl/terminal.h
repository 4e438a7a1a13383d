// pm-ctl top, its terminal: the one place pm-ctl changes the terminal's
// mode. While a Terminal is alive, keys arrive one at a time without echo
// (ISIG stays on: Ctrl-C raises SIGINT) and the cursor is hidden; its
// destructor puts both back. SIGINT, SIGTERM and SIGHUP set a flag instead
// of killing the process, so the destructor always runs.
#pragma once

#include <termios.h>

#include <cstddef>

namespace tfpm::ctl {

class Terminal {
 public:
  // `interactive`: stdin and stdout are terminals (else nothing is changed
  // and WaitKey only sleeps).
  explicit Terminal(bool interactive);
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  // Waits up to `seconds` for a key; returns it, 0 on timeout, or -1 when
  // a signal asked to stop.
  int WaitKey(double seconds);
  // True once SIGINT, SIGTERM or SIGHUP arrived.
  static bool Interrupted();
  // The terminal's width in columns, 0 if unknown.
  static size_t Columns();
  // Its height in lines, 0 if unknown.
  static size_t Rows();
  // Writes `text` to stdout, all of it.
  static void Write(const char* text, size_t len);

 private:
  bool interactive_;
  bool saved_ = false;
  struct termios old_ {};
};

}  // namespace tfpm::ctl
