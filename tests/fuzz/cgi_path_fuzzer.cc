// Fuzz target: php-fpm's script path rules (sapi/cgi_env.h:
// ComputeScriptPaths over a CgiEnv) — SCRIPT_FILENAME/PATH_INFO splitting,
// PATH_TRANSLATED, ORIG_*, Apache's proxy: prefixes, the IIS and
// REDIRECT_URL cases — on a fake file system (PathProbe), so every input
// is deterministic and no system call is made.
//
// Input (FuzzedDataProvider): the options (fix_pathinfo, discard_path,
// doc_root), which paths of the fake tree are regular files, then params
// (mostly the names the rules read, sometimes any name; values free).
// Properties besides "no crash, leak or UB" (an exception, e.g. substr()
// out of range, is a crash: the CVE-2019-11043 class):
//  - a script chosen is never a path with a ".." segment;
//  - with fix_pathinfo, a script found by walking SCRIPT_FILENAME back is a
//    regular file of the fake tree;
//  - the edited table holds each name once.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sapi/cgi_env.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using tfpm::sapi::CgiEnv;

class FakeTree final : public tfpm::sapi::PathProbe {
 public:
  std::set<std::string> files;
  bool IsRegularFile(std::string_view path) const override {
    FUZZ_CHECK(path.data()[path.size()] == '\0');  // PathProbe's contract
    return files.count(std::string(path)) > 0;
  }
  bool Exists(std::string_view path) const override {
    FUZZ_CHECK(path.data()[path.size()] == '\0');
    if (files.count(std::string(path)) > 0) return true;
    // A directory: a prefix of a file, up to a '/'.
    std::string dir(path);
    while (!dir.empty() && dir.back() == '/') dir.pop_back();
    if (dir.empty()) return !path.empty();
    for (const std::string& f : files) {
      if (f.size() > dir.size() && f.compare(0, dir.size(), dir) == 0 && f[dir.size()] == '/') return true;
    }
    return false;
  }
};

constexpr const char* kNames[] = {
    "SCRIPT_FILENAME", "PATH_TRANSLATED", "PATH_INFO",  "SCRIPT_NAME",     "DOCUMENT_ROOT",
    "REDIRECT_URL",    "SERVER_SOFTWARE", "ORIG_PATH_INFO", "ORIG_SCRIPT_NAME", "REQUEST_URI",
};
constexpr const char* kTree[] = {
    "/srv/www/index.php", "/srv/www/a/b.php", "/srv/www/up.php/x", "/srv/www/%2e.php", "/x",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  tfpm::sapi::ScriptPathOptions options;
  options.fix_pathinfo = in.ConsumeBool();
  options.discard_path = in.ConsumeBool();
  if (in.ConsumeBool()) options.doc_root = in.ConsumeRandomLengthString(64);
  FakeTree tree;
  const uint8_t mask = in.ConsumeIntegral<uint8_t>();
  for (size_t i = 0; i < std::size(kTree); ++i) {
    if (mask & (1u << i)) tree.files.insert(kTree[i]);
  }
  const size_t extra = in.ConsumeIntegralInRange<size_t>(0, 2);
  for (size_t i = 0; i < extra; ++i) tree.files.insert(in.ConsumeRandomLengthString(64));
  options.fs = &tree;

  // Params: NUL after every name and value, as the Connection stores them.
  std::vector<std::pair<std::string, std::string>> raw;
  const size_t count = in.ConsumeIntegralInRange<size_t>(0, 12);
  for (size_t i = 0; i < count && in.remaining_bytes() > 0; ++i) {
    std::string name = in.ConsumeBool() ? std::string(kNames[in.ConsumeIntegralInRange<size_t>(0, std::size(kNames) - 1)])
                                        : in.ConsumeRandomLengthString(24);
    raw.emplace_back(std::move(name), in.ConsumeRandomLengthString(160));
  }
  std::vector<tfpm::fastcgi::Exchange::Param> params;
  params.reserve(raw.size());
  for (const auto& [n, v] : raw) params.emplace_back(std::string_view(n.c_str(), n.size()), std::string_view(v.c_str(), v.size()));

  CgiEnv env;
  env.Reset(params);
  const tfpm::sapi::ScriptPaths paths = tfpm::sapi::ComputeScriptPaths(env, options);

  // Views into the table, each followed by a NUL.
  for (const auto& v : {paths.script, paths.script_name}) {
    if (v) FUZZ_CHECK(v->data()[v->size()] == '\0');
  }
  if (paths.script) {
    FUZZ_CHECK(tfpm::sapi::IsValidScriptPath(*paths.script));
    // Walked back to a file: it is one of the tree's. (Without a walk the
    // script is what the client named; PHP's open decides.)
    if (options.fix_pathinfo && !tree.Exists(*paths.script) && !paths.script->empty() &&
        paths.script->back() != '/') {
      FUZZ_CHECK(false && "fix_pathinfo chose a script that does not exist");
    }
  }
  std::set<std::string_view> seen;
  env.ForEachForRegistration([&](std::string_view name, std::string_view value) {
    FUZZ_CHECK(seen.insert(name).second);
    FUZZ_CHECK(value.data()[value.size()] == '\0');
    FUZZ_CHECK(env.Get(name) == value);
  });
  return 0;
}
