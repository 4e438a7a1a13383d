#include "os/this_process.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace tfpm::os {

pid_t CurrentPid() { return ::getpid(); }
pid_t ParentPid() { return ::getppid(); }
uid_t EffectiveUid() { return ::geteuid(); }

int UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

void ExitNow(int code) {
  std::fflush(nullptr);
  ::_exit(code);
}

Status ReplaceProcess(const std::string& path, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(path.c_str(), argv.data());
  return ErrnoStatus("exec " + path, errno);
}

Result<bool> Accessible(const std::string& path, int mode) {
  if (::access(path.c_str(), mode) == 0) return true;
  if (errno == EACCES) return false;
  return ErrnoStatus(path, errno);
}

void ScrubEnvironment() {
  std::vector<char*> strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) strings.push_back(*e);
  ::clearenv();
  for (char* s : strings) std::memset(s, 0, std::strlen(s));
}

Status SetEnvironmentVariable(const std::string& name, const std::string& value) {
  if (::setenv(name.c_str(), value.c_str(), 1) != 0) return ErrnoStatus("setenv " + name, errno);
  return Status::Ok();
}

}  // namespace tfpm::os
