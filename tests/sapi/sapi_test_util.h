// Shared by the SAPI test files: one PHP runtime per test process and
// request params like nginx's fastcgi_params.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "fakes/memory_exchange.h"
#include "sapi/php_embed.h"

namespace tfpm::sapi {

namespace fs = std::filesystem;
using testing::MemoryExchange;
using Params = std::vector<std::pair<std::string, std::string>>;

// One runtime per test process, started on the main thread before any test
// thread exists (PhpRuntime's contract).
struct Runtime {
  fs::path dir;
  Runtime() {
    char tmpl[] = "/tmp/tfpm-sapi-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
    RuntimeOptions o;
    o.ini = {{"display_errors", "0"},
             {"log_errors", "1"},
             {"error_reporting", "E_ALL"},
             {"max_execution_time", "30"},
             {"output_buffering", "4096"},  // php.ini-production's value
             {"memory_limit", "64M"},
             // PHP 8.4 reports this deprecated setting at MINIT and again on
             // every new PHP thread (TSRM re-runs the INI handlers there):
             // every thread these tests start sees a startup message.
             {"session.sid_length", "26"}};
    o.admin_keys = {"memory_limit"};
    Status st = PhpRuntime::Startup(o);
    REQUIRE_MESSAGE(st.ok(), st.message());
  }
  std::string Script(const std::string& name, const std::string& code) const {
    fs::path p = dir / name;
    std::ofstream(p) << code;
    return p.string();
  }
};

inline Runtime& Rt() {
  static Runtime* rt = new Runtime;  // never shut down: threads may still exit
  return *rt;
}

inline Params Base(const std::string& script, const std::string& method = "GET", const std::string& query = "") {
  return {{"REQUEST_METHOD", method},
          {"SCRIPT_FILENAME", script},
          {"SCRIPT_NAME", "/" + fs::path(script).filename().string()},
          {"REQUEST_URI", "/" + fs::path(script).filename().string() + (query.empty() ? "" : "?" + query)},
          {"QUERY_STRING", query},
          {"SERVER_PROTOCOL", "HTTP/1.1"},
          {"DOCUMENT_ROOT", fs::path(script).parent_path().string()}};
}

// The number of the request running on PHP thread `index` (a
// PhpThreadScope's), waiting up to 2 s for one to start; 0 if none did.
inline uint64_t RunningSeq(int index) {
  for (int i = 0; i < 2000; ++i) {
    for (const RunningRequest& r : RunningRequests()) {
      if (r.index == index) return r.seq;
    }
    ::usleep(1000);
  }
  return 0;
}

}  // namespace tfpm::sapi
