#include "tools/ctl/terminal.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <initializer_list>

namespace tfpm::ctl {
namespace {

volatile sig_atomic_t g_interrupted = 0;

void OnSignal(int) { g_interrupted = 1; }

constexpr char kHideCursor[] = "\x1b[?25l";
constexpr char kShowCursor[] = "\x1b[?25h";

}  // namespace

Terminal::Terminal(bool interactive) : interactive_(interactive) {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
  if (!interactive_) return;
  if (::tcgetattr(STDIN_FILENO, &old_) == 0) {
    saved_ = true;
    struct termios raw = old_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }
  Write(kHideCursor, sizeof(kHideCursor) - 1);
}

Terminal::~Terminal() {
  if (!interactive_) return;
  // Below the last frame, so the shell's prompt starts on a line of its own.
  Write("\r\n", 2);
  Write(kShowCursor, sizeof(kShowCursor) - 1);
  if (saved_) ::tcsetattr(STDIN_FILENO, TCSANOW, &old_);
}

int Terminal::WaitKey(double seconds) {
  if (g_interrupted) return -1;
  if (!interactive_) {
    struct timespec ts;
    ts.tv_sec = static_cast<time_t>(seconds);
    ts.tv_nsec = static_cast<long>((seconds - static_cast<double>(ts.tv_sec)) * 1e9);
    ::nanosleep(&ts, nullptr);  // a signal ends it early
    return g_interrupted ? -1 : 0;
  }
  struct pollfd p {STDIN_FILENO, POLLIN, 0};
  const int r = ::poll(&p, 1, static_cast<int>(seconds * 1000));
  if (g_interrupted) return -1;
  if (r <= 0) return 0;
  unsigned char c = 0;
  const ssize_t n = ::read(STDIN_FILENO, &c, 1);
  if (n == 0) return -1;  // end of input: nobody can press q any more
  return n == 1 ? c : 0;
}

bool Terminal::Interrupted() { return g_interrupted != 0; }

size_t Terminal::Columns() {
  struct winsize ws {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) return 0;
  return ws.ws_col;
}

size_t Terminal::Rows() {
  struct winsize ws {};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0) return 0;
  return ws.ws_row;
}

void Terminal::Write(const char* text, size_t len) {
  while (len > 0) {
    const ssize_t n = ::write(STDOUT_FILENO, text, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text += n;
    len -= static_cast<size_t>(n);
  }
}

}  // namespace tfpm::ctl
