// pm-ctl: the admin CLI. A thin client of the control socket
// (docs/control-protocol.md): argv -> one JSON request -> human or JSON output.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "control/protocol.h"
#include "tfpm_build_config.h"

namespace {

using tfpm::control::Json;

constexpr char kUsage[] =
    "Usage: pm-ctl [--socket PATH] COMMAND [--json]\n"
    "\n"
    "Commands:\n"
    "  status [--json]   pools, processes, threads and what each is doing\n"
    "  stop [--fast]     graceful stop (requests in flight finish); --fast: now\n"
    "  version\n"
    "\n"
    "The socket defaults to $TFPM_CONTROL_SOCKET, else /run/tfpm/tfpm.sock.\n"
    "Exit codes: 0 ok, 1 the daemon refused or failed, 2 usage, 3 cannot connect.\n";

void PrintStatus(const Json& r) {
  std::printf("tfpm %s (PHP %s), pid %d, up %.0f s%s\n", r.value("version", "?").c_str(),
              r.value("php", "?").c_str(), r.value("pid", 0), r.value("uptime_s", 0.0),
              r.value("stopping", false) ? ", stopping" : "");
  for (const auto& pool : r.at("pools")) {
    std::printf("\npool %s  listen %s  mode %s  busy %llu  idle %llu  requests %llu\n",
                pool.value("name", "?").c_str(), pool.value("listen", "?").c_str(),
                pool.value("mode", "?").c_str(), pool.value("busy_threads", 0ull),
                pool.value("idle_threads", 0ull), pool.value("requests", 0ull));
    for (const auto& proc : pool.at("processes")) {
      std::printf("  process %d  %-8s up %.0f s\n", proc.value("pid", 0), proc.value("state", "?").c_str(),
                  proc.value("uptime_s", 0.0));
      for (const auto& t : proc.at("threads")) {
        std::printf("    thread %-3d %-16s requests %-8llu", t.value("index", 0), t.value("state", "?").c_str(),
                    t.value("requests", 0ull));
        if (t.contains("uri")) {
          std::printf(" %s %s (%.0f ms)", t.value("method", "").c_str(), t.value("uri", "").c_str(),
                      t.value("duration_ms", 0.0));
        }
        std::printf("\n");
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket = std::getenv("TFPM_CONTROL_SOCKET") ? std::getenv("TFPM_CONTROL_SOCKET")
                                                          : "/run/tfpm/tfpm.sock";
  std::string command;
  bool json = false, fast = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--socket" && i + 1 < argc) socket = argv[++i];
    else if (a == "--json") json = true;
    else if (a == "--fast") fast = true;
    else if (a == "-h" || a == "--help") { std::fputs(kUsage, stdout); return 0; }
    else if (command.empty() && a[0] != '-') command = a;
    else { std::fprintf(stderr, "pm-ctl: unexpected argument '%s'\n%s", argv[i], kUsage); return 2; }
  }
  Json request;
  if (command == "status") request = {{"cmd", "status"}};
  else if (command == "stop") request = {{"cmd", "stop"}, {"fast", fast}};
  else if (command == "version") request = {{"cmd", "version"}};
  else { std::fputs(kUsage, stderr); return 2; }

  auto reply = tfpm::control::Call(socket, request);
  if (!reply.ok()) {
    std::fprintf(stderr, "pm-ctl: %s\n", reply.status().message().c_str());
    return 3;
  }
  if (!reply->value("ok", false)) {
    std::fprintf(stderr, "pm-ctl: %s\n", reply->value("error", "failed").c_str());
    return 1;
  }
  if (json) {
    std::printf("%s\n", reply->dump(2).c_str());
  } else if (command == "status") {
    PrintStatus(*reply);
  } else if (command == "version") {
    std::printf("tfpm %s (PHP %s); pm-ctl %s\n", reply->value("version", "?").c_str(),
                reply->value("php", "?").c_str(), TFPM_VERSION);
  } else {
    std::printf("ok\n");
  }
  return 0;
}
