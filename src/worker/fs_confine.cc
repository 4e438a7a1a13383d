#include "worker/fs_confine.h"

#include <filesystem>

namespace tfpm::worker {

os::LandlockPaths FsConfineRules(const config::PoolConfig::FsConfine& confine,
                                 const std::function<bool(const std::string&)>& exists) {
  os::LandlockPaths paths;
  paths.read = confine.read;
  paths.write = confine.write;
  for (std::string_view p : kImplicitRead) {
    if (exists(std::string(p))) paths.read.emplace_back(p);
  }
  for (std::string_view p : kImplicitWrite) {
    if (exists(std::string(p))) paths.write.emplace_back(p);
  }
  return paths;
}

Result<FsConfineOutcome> DecideFsConfine(const config::PoolConfig::FsConfine& confine, int abi,
                                         const std::string& why) {
  if (!confine.enabled) return FsConfineOutcome::kOff;
  if (abi > 0) return FsConfineOutcome::kConfined;
  if (confine.required) {
    return Status::IoError("confine: " + why + "; refusing to run unconfined (set confine.required: false "
                           "to run without it)");
  }
  return FsConfineOutcome::kUnavailable;
}

Result<FsConfineOutcome> ApplyFsConfine(const config::PoolConfig::FsConfine& confine, std::string* why) {
  if (!confine.enabled) return FsConfineOutcome::kOff;
  auto decided = DecideFsConfine(confine, os::LandlockAbi(why), *why);
  if (!decided.ok() || *decided != FsConfineOutcome::kConfined) return decided;
  auto exists = [](const std::string& p) {
    std::error_code ec;  // an error (EACCES...) counts as missing, as stat(2) failing did
    return std::filesystem::exists(p, ec);
  };
  if (Status st = os::RestrictFileSystem(FsConfineRules(confine, exists)); !st.ok()) {
    return Status::IoError("confine: " + st.message());
  }
  return FsConfineOutcome::kConfined;
}

}  // namespace tfpm::worker
