// fcgi-bench: a FastCGI load generator (see Usage() in options.cc).
#include <errno.h>
#include <signal.h>

#include <atomic>
#include <cstring>
#include <cstdio>
#include <string>
#include <vector>

#include "tools/fcgi-bench/options.h"
#include "tools/fcgi-bench/report.h"
#include "tools/fcgi-bench/request.h"
#include "tools/fcgi-bench/runner.h"

namespace {

std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void OnSignal(int) { stop_requested.store(true); }

// The whole file, or an error naming it.
tfpm::Result<std::string> ReadWholeFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return tfpm::Status::IoError(path + ": " + std::strerror(errno));
  std::string data;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  const bool error = std::ferror(f) != 0;
  std::fclose(f);
  if (error) return tfpm::Status::IoError(path + ": read error");
  return data;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "fcgi-bench: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tfpm::bench;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = ParseOptions(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "fcgi-bench: %s\n(fcgi-bench --help for usage)\n",
                 parsed.status().message().c_str());
    return 2;
  }
  Options& options = parsed.value();
  if (options.help) {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }
  if (!options.body_file.empty()) {
    auto body = ReadWholeFile(options.body_file);
    if (!body.ok()) return Fail("--body-file: " + body.status().message());
    options.request.body = std::move(body.value());
  }
  if (!options.request_file.empty()) {
    auto text = ReadWholeFile(options.request_file);
    if (!text.ok()) return Fail("--request-file: " + text.status().message());
    auto params = ParseRequestFile(text.value());
    if (!params.ok()) return Fail(options.request_file + ": " + params.status().message());
    options.request.file_params = std::move(params.value());
  }
  auto target = ResolveTarget(options);
  if (!target.ok()) return Fail(target.status().message());

  struct sigaction sa{};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // send() uses MSG_NOSIGNAL; belt and braces

  const ParamList params = BuildParams(options.request);
  auto report = RunLoad(options, target.value(), params, options.request.body, &stop_requested);
  if (!report.ok()) return Fail(report.status().message());
  const std::string out =
      options.json ? FormatJson(options, report.value()) : FormatText(options, report.value());
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
  const auto& stats = report.value().stats;
  return (stats.error_total() == 0 && stats.ok > 0) ? 0 : 1;
}
