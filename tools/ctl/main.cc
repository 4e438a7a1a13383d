// pm-ctl: the admin CLI. A thin client of the control socket
// (docs/control-protocol.md): argv -> one JSON request -> human or JSON output.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "config/fpm_ini.h"
#include "config/fpm_map.h"
#include "control/protocol.h"
#include "tfpm_build_config.h"
#include "tools/ctl/top.h"

namespace {

using tfpm::control::Json;

constexpr char kUsage[] =
    "Usage: pm-ctl [--socket PATH] COMMAND [ARGS] [--json]\n"
    "\n"
    "Commands:\n"
    "  status [--json]       pools, generations, processes, threads and what each is doing\n"
    "  top [--once] [--interval SECONDS] [--pool NAME]\n"
    "                        a live view (as top): per pool processes, threads, requests/s,\n"
    "                        listen queue, memory; the busy threads' requests, slowest\n"
    "                        first; the slowest recent requests. q or Ctrl-C quits;\n"
    "                        --once prints one frame without escape codes\n"
    "  reload [--no-wait]    re-read the config file and start a new generation of workers;\n"
    "                        the old one drains once the new one is ready. Waits for that\n"
    "                        unless --no-wait. An invalid config is refused (exit 1) and\n"
    "                        the old one keeps serving.\n"
    "  restart POOL [--no-wait]  rolling restart of one pool (new workers first, then the\n"
    "                        old ones drain), e.g. after a code deploy\n"
    "  reopen-logs           reopen log files (after logrotate), as SIGUSR1\n"
    "  config-test FILE      let the daemon check FILE as it would on reload\n"
    "  stop [--fast]         graceful stop (requests in flight finish); --fast: now\n"
    "  version\n"
    "  import-fpm FILE [-o OUT] [-p PREFIX]\n"
    "                        write php-fpm's configuration FILE (php-fpm.conf and what it\n"
    "                        includes) as tfpm YAML (stdout without -o); every directive\n"
    "                        tfpm does not honour as php-fpm does is a comment in it and a\n"
    "                        line on stderr. Needs no daemon.\n"
    "  import-fpm --table    the directive table (Markdown) of docs/migrating.md\n"
    "\n"
    "The socket defaults to $TFPM_CONTROL_SOCKET, else /run/tfpm/tfpm.sock.\n"
    "Exit codes: 0 ok, 1 the daemon refused or failed (the reason on stderr), 2 usage,\n"
    "3 cannot connect.\n";

void PrintThreads(const Json& proc) {
  if (proc.at("threads").empty()) std::printf("    no PHP thread (pm ondemand: one starts with the next request)\n");
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

// A process's start time, local time to the second ("2026-12-03 02:41:07").
std::string StartedAt(const Json& proc) {
  const time_t t = static_cast<time_t>(proc.value("started_at", int64_t{0}));
  struct tm tm {};
  char buf[32];
  if (t <= 0 || ::localtime_r(&t, &tm) == nullptr || std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0) {
    return "?";
  }
  return buf;
}

std::string Recycling(const Json& proc) {
  return proc.contains("recycling") ? "  recycling (" + proc.value("recycling", std::string("?")) + ")" : "";
}

// "crash 1, reload 2" from {"crash": 1, "exit": 0, "reload": 2}: the
// causes that counted any restart.
std::string NonZero(const Json& by_cause) {
  std::string out;
  for (const auto& [cause, count] : by_cause.items()) {
    if (!count.is_number_unsigned() || count.get<uint64_t>() == 0) continue;
    out += (out.empty() ? "" : ", ") + cause + " " + std::to_string(count.get<uint64_t>());
  }
  return out;
}

// Restarts by cause (base/restart_cause.h), when any happened.
void PrintRestarts(const Json& pool) {
  if (!pool.contains("restarts")) return;
  const Json& rs = pool.at("restarts");
  for (const char* who : {"processes", "threads"}) {
    const std::string counts = rs.contains(who) ? NonZero(rs.at(who)) : "";
    if (!counts.empty()) std::printf("  %s restarted: %s\n", who, counts.c_str());
  }
}

void PrintStatus(const Json& r) {
  std::printf("tfpm %s (PHP %s), pid %d, up %.0f s, generation %llu%s%s%s\n", r.value("version", "?").c_str(),
              r.value("php", "?").c_str(), r.value("pid", 0), r.value("uptime_s", 0.0),
              r.value("generation", 0ull), r.value("ready", true) ? "" : ", starting",
              r.contains("reloading") ? ", reloading" : "", r.value("stopping", false) ? ", stopping" : "");
  for (const auto& pool : r.at("pools")) {
    std::printf("\npool %s  listen %s  mode %s  pm %s  busy %llu  idle %llu  requests %llu\n",
                pool.value("name", "?").c_str(), pool.value("listen", "?").c_str(),
                pool.value("mode", "?").c_str(), pool.value("pm", "static").c_str(), pool.value("busy_threads", 0ull),
                pool.value("idle_threads", 0ull), pool.value("requests", 0ull));
    if (pool.contains("health") && pool.at("health").value("state", "ok") == "failed") {
      const Json& h = pool.at("health");
      std::printf("  FAILED for %.0f s: its workers do not stay up (see the error log); %llu connection(s) "
                  "answered 503; retrying\n",
                  h.value("failed_for_s", 0.0), h.value("unavailable_answers", 0ull));
    }
    // The connection limits that tripped (docs/security.md), when any did.
    std::string tripped;
    if (pool.contains("limits")) {
      for (const auto& [key, count] : pool.at("limits").items()) {
        if (count.is_number_unsigned() && count.get<uint64_t>() > 0) {
          tripped += (tripped.empty() ? "" : ", ") + key + " " + std::to_string(count.get<uint64_t>());
        }
      }
    }
    if (!tripped.empty()) std::printf("  limits tripped: %s\n", tripped.c_str());
    // Process recycling (docs/config.md "Recycling"), when any happened.
    if (pool.contains("recycles")) {
      const Json& rc = pool.at("recycles");
      const uint64_t by_requests = rc.value("max_requests", 0ull), by_memory = rc.value("memory", 0ull);
      const uint64_t interpreters = rc.value("interpreters_memory", 0ull);
      if (by_requests + by_memory + interpreters > 0) {
        std::printf("  recycled: %llu process(es) after process_max_requests, %llu over process_memory_limit, "
                    "%llu interpreter(s) over memory_recycle\n",
                    static_cast<unsigned long long>(by_requests), static_cast<unsigned long long>(by_memory),
                    static_cast<unsigned long long>(interpreters));
      }
    }
    // Idle memory trimming (docs/config.md "Idle memory trimming"), once any happened.
    if (const uint64_t trims = pool.value("idle_trims", 0ull); trims > 0) {
      std::printf("  idle trims: %llu (threads that gave their free memory back after idle_trim)\n",
                  static_cast<unsigned long long>(trims));
    }
    PrintRestarts(pool);
    for (const auto& proc : pool.at("processes")) {
      std::printf("  process %d  %-8s started %s  up %.0f s  requests %llu  generation %llu%s\n",
                  proc.value("pid", 0), proc.value("state", "?").c_str(), StartedAt(proc).c_str(),
                  proc.value("uptime_s", 0.0), proc.value("requests", 0ull), proc.value("generation", 0ull),
                  Recycling(proc).c_str());
      PrintThreads(proc);
    }
  }
  if (r.contains("previous_generations") && !r.at("previous_generations").empty()) {
    std::printf("\nprevious generations and recycled processes\n");
    for (const auto& proc : r.at("previous_generations")) {
      std::printf("  process %d  %-8s started %s  up %.0f s  requests %llu  generation %llu  pool %s%s\n",
                  proc.value("pid", 0), proc.value("state", "?").c_str(), StartedAt(proc).c_str(),
                  proc.value("uptime_s", 0.0), proc.value("requests", 0ull), proc.value("generation", 0ull),
                  proc.value("pool", "?").c_str(), Recycling(proc).c_str());
      PrintThreads(proc);
    }
  }
}

// pm-ctl import-fpm: the same parser and mapping table as tfpm --fpm-config.
int ImportFpm(int argc, char** argv, int first) {
  std::string file, out;
  tfpm::config::fpm::ImportOptions options;
  options.for_file = true;
  for (int i = first; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--table") {
      std::fputs(tfpm::config::fpm::RulesMarkdown().c_str(), stdout);
      return 0;
    }
    if (a == "-o" && i + 1 < argc) out = argv[++i];
    else if (a == "-p" && i + 1 < argc) options.prefix = argv[++i];
    else if (!a.empty() && a[0] != '-' && file.empty()) file = a;
    else { std::fprintf(stderr, "pm-ctl: import-fpm: unexpected argument '%s'\n%s", argv[i], kUsage); return 2; }
  }
  if (file.empty()) {
    std::fprintf(stderr, "pm-ctl: import-fpm takes a file\n%s", kUsage);
    return 2;
  }
  // php.ini and conf.d as tfpm --fpm-config finds them without -c/-n and
  // $PHPRC/$PHP_INI_SCAN_DIR: beside php-fpm.conf (Debian's layout).
  {
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::absolute(file, ec).parent_path();
    if (std::filesystem::is_regular_file(dir / "php.ini", ec)) options.php_ini = (dir / "php.ini").string();
    if (std::filesystem::is_directory(dir / "conf.d", ec)) options.scan_dir = (dir / "conf.d").string();
  }
  tfpm::config::fpm::ParseOptions parse;
  parse.prefix = options.prefix;
  auto doc = tfpm::config::fpm::Parse(file, tfpm::config::fpm::SystemFiles(), parse);
  if (!doc.ok()) {
    std::fprintf(stderr, "pm-ctl: %s\n", doc.status().message().c_str());
    return 1;
  }
  auto imported = tfpm::config::fpm::Import(*doc, options);
  if (!imported.ok()) {
    std::fprintf(stderr, "pm-ctl: %s\n", imported.status().message().c_str());
    return 1;
  }
  for (const auto& w : imported->warnings) std::fprintf(stderr, "WARNING: %s\n", w.c_str());
  for (const auto& n : imported->notes) std::fprintf(stderr, "NOTICE: %s\n", n.text.c_str());
  if (out.empty()) {
    std::fputs(imported->yaml.c_str(), stdout);
    return 0;
  }
  FILE* f = std::fopen(out.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "pm-ctl: %s: %s\n", out.c_str(), std::strerror(errno));
    return 1;
  }
  const bool written = std::fwrite(imported->yaml.data(), 1, imported->yaml.size(), f) == imported->yaml.size();
  if (std::fclose(f) != 0 || !written) {
    std::fprintf(stderr, "pm-ctl: %s: write failed\n", out.c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %s (%zu pool(s), %zu note(s)); check it with: tfpm --config %s --test\n", out.c_str(),
               doc->pools.size(), imported->notes.size(), out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "import-fpm") return ImportFpm(argc, argv, i + 1);
  }
  std::string socket = std::getenv("TFPM_CONTROL_SOCKET") ? std::getenv("TFPM_CONTROL_SOCKET")
                                                          : "/run/tfpm/tfpm.sock";
  // top has its own options (top.h): `pm-ctl [--socket PATH] top ...`.
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--socket" && i + 1 < argc) {
      ++i;
      continue;
    }
    if (a == "top") {
      for (int k = 1; k < i; ++k) {
        if (std::string_view(argv[k]) == "--socket") socket = argv[k + 1];
      }
      return tfpm::ctl::RunTop(argc, argv, i + 1, socket);
    }
    break;
  }
  std::string command;
  std::vector<std::string> operands;
  bool json = false, fast = false, no_wait = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--socket" && i + 1 < argc) socket = argv[++i];
    else if (a == "--json") json = true;
    else if (a == "--fast") fast = true;
    else if (a == "--no-wait") no_wait = true;
    else if (a == "-h" || a == "--help") { std::fputs(kUsage, stdout); return 0; }
    else if (!a.empty() && a[0] != '-') (command.empty() ? command : operands.emplace_back()) = a;
    else { std::fprintf(stderr, "pm-ctl: unexpected argument '%s'\n%s", argv[i], kUsage); return 2; }
  }
  const size_t want_operands = command == "restart" || command == "config-test" ? 1 : 0;
  if (operands.size() != want_operands) {
    std::fprintf(stderr, "pm-ctl: %s takes %zu argument(s)\n%s", command.c_str(), want_operands, kUsage);
    return 2;
  }
  Json request;
  if (command == "status") request = {{"cmd", "status"}};
  else if (command == "stop") request = {{"cmd", "stop"}, {"fast", fast}};
  else if (command == "version") request = {{"cmd", "version"}};
  else if (command == "reload") request = {{"cmd", "reload"}, {"wait", !no_wait}};
  else if (command == "restart") request = {{"cmd", "restart"}, {"pool", operands[0]}, {"wait", !no_wait}};
  else if (command == "reopen-logs") request = {{"cmd", "reopen-logs"}};
  else if (command == "config-test") {
    // The daemon reads the file: make a relative name absolute here.
    std::string file = operands[0];
    if (file[0] != '/') {
      char cwd[4096];
      if (::getcwd(cwd, sizeof(cwd)) != nullptr) file = std::string(cwd) + "/" + file;
    }
    request = {{"cmd", "config-test"}, {"file", file}};
  } else { std::fputs(kUsage, stderr); return 2; }

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
  } else if (command == "reload" || command == "restart") {
    if (reply->value("waiting", true)) {
      std::printf("ok: generation %llu ready in %.3f s; %d old process(es) draining\n",
                  reply->value("generation", 0ull), reply->value("seconds", 0.0), reply->value("draining", 0));
    } else {
      std::printf("ok: generation %llu starting\n", reply->value("generation", 0ull));
    }
  } else if (command == "config-test") {
    std::printf("configuration file %s test is successful\n", reply->value("file", "").c_str());
  } else {
    std::printf("ok\n");
  }
  return 0;
}
