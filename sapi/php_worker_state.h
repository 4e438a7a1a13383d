// Worker mode's per-thread state (WorkerState) and what is reset between
// two requests of a worker script (php_worker_reset.cc): INI settings
// back to what the boot left, the last error, modules' request hooks,
// superglobals, the session. Internal to sapi/php_worker*.cc.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/restart_cause.h"
#include "sapi/php_internal.h"
#include "sapi/php_leak_check.h"

namespace tfpm::sapi::worker_internal {

// One worker thread's state for the current run. Plain C++ memory owned by
// RunWorkerScript's frame; nothing here lives on the Zend heap.
struct WorkerState {
  const WorkerOptions* options = nullptr;
  RequestSource* source = nullptr;
  RequestContext* boot_ctx = nullptr;
  std::string script;
  uint64_t requests = 0;         // completed in this run
  bool in_handler = false;       // a tfpm_handle_request() call is active
  bool stop = false;             // the source said stop
  bool recycle = false;          // max_requests / memory_recycle reached
  bool bailout_pending = false;  // fatal error in the handler: end the run
  bool exit_pending = false;     // exit() in the handler: end the run
  std::string reason;
  base::RestartCause cause = base::RestartCause::kCrash;
  // leak_check (null when off): the detector, the request the next Check()
  // attributes changes to, and strict mode's verdict for the next request.
  std::unique_ptr<LeakDetector> leaks;
  std::string last_request;
  std::string fail_next;               // strict: non-empty = answer 500 naming these items
  std::unordered_set<std::string> logged;  // items already logged in this run
  std::vector<std::string>* run_leaks = nullptr;
  // State the boot left behind, restored after every request.
  bool snapshot_taken = false;
  std::vector<std::pair<std::string, std::optional<std::string>>> boot_ini;
  std::string boot_cwd;
};

// Takes the INI entries the boot changed (ini_set in the script's
// bootstrap) and the boot cwd: the state every request starts from.
void TakeBootSnapshot(WorkerState* w);
// Undoes the request's ini_set()/set_time_limit(): entries it modified go
// back to their startup value, entries the boot had set to the boot's.
void RestoreIni(const WorkerState* w);
void ClearLastError();
// Modules whose request state must follow each request (filter's RINIT).
void ReloadModules(bool startup);
// $_GET, $_POST, $_COOKIE, $_FILES, $_SERVER (and $_REQUEST) from the new
// request; $_ENV stays; $_SESSION is removed.
void ResetSuperglobals();
// Drops the request's session (written first if still active); the save
// handler the boot registered stays.
void ResetSession();

}  // namespace tfpm::sapi::worker_internal
