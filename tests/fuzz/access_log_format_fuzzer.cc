// Fuzz target: the access-log format (accesslog/format.h): Compile() on an
// access.format from a config file, then Render() of a request whose
// client-controlled fields (method, URI, query, user, script, headers, %e
// params) come from the input too.
//
// Input (FuzzedDataProvider): the format, then the record's strings and
// numbers. Properties besides "no crash, leak or UB":
//  - a rendered line is at most kMaxLine bytes plus '\n', and Render()'s
//    result says whether it was cut;
//  - nothing is appended for an empty line; otherwise exactly one '\n', last.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "accesslog/format.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

struct Env {
  std::vector<std::string> names, values;
};

std::optional<std::string_view> LookUp(const void* ctx, std::string_view name) {
  const auto* env = static_cast<const Env*>(ctx);
  for (size_t i = 0; i < env->names.size(); ++i) {
    if (env->names[i] == name) return env->values[i];
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string format = in.ConsumeRandomLengthString(512);
  auto compiled = tfpm::accesslog::Format::Compile(format);
  if (!compiled.ok()) {
    FUZZ_CHECK(!compiled.status().message().empty());
    return 0;
  }
  std::string strings[7];
  for (std::string& s : strings) s = in.ConsumeRandomLengthString(256);
  std::vector<std::string> header_text;
  const size_t headers = in.ConsumeIntegralInRange<size_t>(0, 4);
  for (size_t i = 0; i < headers; ++i) header_text.push_back(in.ConsumeRandomLengthString(128));
  std::vector<std::string_view> header_views(header_text.begin(), header_text.end());
  Env env;
  const size_t params = in.ConsumeIntegralInRange<size_t>(0, 4);
  for (size_t i = 0; i < params; ++i) {
    env.names.push_back(in.ConsumeRandomLengthString(32));
    env.values.push_back(in.ConsumeRandomLengthString(128));
  }

  tfpm::accesslog::Record r;
  r.remote_addr = strings[0];
  r.auth_user = strings[1];
  r.method = strings[2];
  r.request_uri = strings[3];
  r.query_string = strings[4];
  r.script_filename = strings[5];
  r.pool = strings[6];
  r.content_length = in.ConsumeIntegral<uint64_t>();
  r.status = in.ConsumeIntegral<int>();
  r.pid = in.ConsumeIntegral<long>();
  r.ppid = in.ConsumeIntegral<long>();
  // Times come from the clock, never from a client: keep them in range.
  r.accepted = static_cast<time_t>(in.ConsumeIntegral<uint32_t>());
  r.now = r.accepted + in.ConsumeIntegralInRange<time_t>(0, 86400);
  r.duration_us = in.ConsumeIntegral<uint64_t>();
  r.memory_peak = in.ConsumeIntegral<uint64_t>();
  r.cpu_user_us = in.ConsumeIntegral<uint64_t>();
  r.cpu_system_us = in.ConsumeIntegral<uint64_t>();
  r.headers = header_views;
  r.env = LookUp;
  r.env_ctx = &env;

  std::string out = "previous line\n";
  const size_t before = out.size();
  const bool whole = compiled->Render(r, &out);
  const std::string_view line = std::string_view(out).substr(before);
  if (line.empty()) return 0;
  FUZZ_CHECK(line.back() == '\n');
  FUZZ_CHECK(line.size() <= tfpm::accesslog::kMaxLine + 1);
  if (!whole) FUZZ_CHECK(line.size() == tfpm::accesslog::kMaxLine + 1);

  // The SAPI gives Render() only the header lines TakeHeader() keeps: the
  // line must come out the same.
  std::vector<uint8_t> taken(compiled->header_tokens(), 0);
  std::vector<std::string_view> picked;
  for (std::string_view h : header_views) {
    if (compiled->TakeHeader(h, taken)) picked.push_back(h);
  }
  FUZZ_CHECK(picked.size() <= compiled->header_tokens());
  r.headers = picked;
  std::string again = "previous line\n";
  compiled->Render(r, &again);
  FUZZ_CHECK(std::string_view(again).substr(before) == line);

  std::vector<std::string> paths = {strings[3]};
  (void)tfpm::accesslog::Suppressed(r, paths);
  return 0;
}
