// fcgi-hello: the no-PHP ceiling for the benchmarks. A libfcgi responder with
// N threads, each blocking in FCGX_Accept_r on one shared listening socket,
// answering every request with "hello world\n" (the same body as the PHP
// hello scenario, so the same --expect-sha256 validates both). It measures
// what the FastCGI transport alone costs on this machine.
//
//   fcgi-hello (--unix PATH | --tcp [HOST]:PORT) [-t THREADS] [--backlog N]
//
// Signals are owned here, not by libfcgi: FCGX_Init installs its own
// handlers (SIGPIPE, SIGUSR1, and SIGTERM in some versions) that only set a
// "shutdown pending" flag which blocked accept()s never see. So every thread
// runs with SIGTERM/SIGINT/SIGQUIT/SIGHUP/SIGUSR1 blocked, SIGPIPE is
// ignored, and the main thread sigwait()s: any of those signals removes the
// Unix socket and exits 0 at once.
#include <fcgiapp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

namespace {

constexpr char kUsage[] =
    "Usage: fcgi-hello (--unix PATH | --tcp [HOST]:PORT) [-t THREADS] [--backlog N]\n"
    "  A libfcgi responder answering every request with \"hello world\\n\".\n"
    "  -t THREADS    request threads (default 4)\n"
    "  --backlog N   listen backlog (default 511)\n";

constexpr std::string_view kResponse =
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "\r\n"
    "hello world\n";

void Serve(int listen_fd) {
  FCGX_Request request;
  if (FCGX_InitRequest(&request, listen_fd, 0) != 0) {
    std::fprintf(stderr, "fcgi-hello: FCGX_InitRequest failed\n");
    return;
  }
  char sink[16384];
  while (FCGX_Accept_r(&request) == 0) {
    // Drain the body (if any) as a real responder must.
    while (FCGX_GetStr(sink, sizeof sink, request.in) > 0) {
    }
    FCGX_PutStr(kResponse.data(), static_cast<int>(kResponse.size()), request.out);
    FCGX_Finish_r(&request);
  }
  std::fprintf(stderr, "fcgi-hello: FCGX_Accept_r failed; thread exits\n");
}

bool ParsePositive(const char* text, int* out) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < 1 || v > 65535) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string unix_path, tcp;
  int threads = 4, backlog = 511;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--unix" && has_value) {
      unix_path = argv[++i];
    } else if (a == "--tcp" && has_value) {
      tcp = argv[++i];
    } else if ((a == "-t" || a == "--threads") && has_value) {
      if (!ParsePositive(argv[++i], &threads)) {
        std::fprintf(stderr, "fcgi-hello: -t: expected 1..65535\n");
        return 2;
      }
    } else if (a == "--backlog" && has_value) {
      if (!ParsePositive(argv[++i], &backlog)) {
        std::fprintf(stderr, "fcgi-hello: --backlog: expected 1..65535\n");
        return 2;
      }
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "fcgi-hello: bad argument '%s'\n%s", argv[i], kUsage);
      return 2;
    }
  }
  if (unix_path.empty() == tcp.empty()) {
    std::fprintf(stderr, "fcgi-hello: give exactly one of --unix and --tcp\n%s", kUsage);
    return 2;
  }

  // Block the stop signals before any thread exists, so every thread
  // inherits the mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int s : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1}) sigaddset(&stop_signals, s);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (FCGX_Init() != 0) {
    std::fprintf(stderr, "fcgi-hello: FCGX_Init failed\n");
    return 1;
  }
  // Take the signals back from libfcgi's handlers.
  signal(SIGPIPE, SIG_IGN);
  for (int s : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1}) signal(s, SIG_DFL);

  if (!unix_path.empty()) ::unlink(unix_path.c_str());
  const std::string address = unix_path.empty() ? tcp : unix_path;
  const int listen_fd = FCGX_OpenSocket(address.c_str(), backlog);
  if (listen_fd < 0) {
    std::fprintf(stderr, "fcgi-hello: cannot listen on %s: %s\n", address.c_str(),
                 std::strerror(errno));
    return 1;
  }
  if (!unix_path.empty()) ::chmod(unix_path.c_str(), 0666);

  std::vector<std::thread> pool;
  try {
    for (int i = 0; i < threads; ++i) pool.emplace_back(Serve, listen_fd);
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "fcgi-hello: cannot start threads: %s\n", e.what());
    if (!unix_path.empty()) ::unlink(unix_path.c_str());
    std::_Exit(1);
  }
  std::fprintf(stderr, "fcgi-hello: pid %d listening on %s with %d thread(s)\n",
               static_cast<int>(::getpid()), address.c_str(), threads);

  int received = 0;
  while (sigwait(&stop_signals, &received) != 0) {
  }
  if (!unix_path.empty()) ::unlink(unix_path.c_str());
  std::fprintf(stderr, "fcgi-hello: signal %d, exiting\n", received);
  std::fflush(stderr);
  std::_Exit(0);  // the request threads are blocked in accept(); do not join
}
