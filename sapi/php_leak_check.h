// Worker mode's state-leak detector (`worker: {leak_check: log | strict}`).
//
// A worker script's executor outlives each request: state one request
// changes is what the next one starts from. LeakDetector takes a cheap
// fingerprint of the state a request can change and that tfpm does not
// reset itself (docs/worker-mode.md lists both), and names the items whose
// fingerprint changed since the previous Check():
//
//   static properties of user classes     Class::$prop
//   static variables of user functions    func()::$var, Class::method()::$var
//   $GLOBALS outside the superglobals     $name
//   locale (LC_ALL), default timezone, error_reporting, mb_internal_encoding,
//   error and exception handlers, shutdown functions, autoloaders, stream
//   wrappers and filters, open resources  (those words as names)
//
// Fingerprints are shallow: scalars by value, strings by length and hash,
// arrays by count and a sample of their first and last elements, objects by
// handle and their declared properties, two levels deep. A change deeper
// than that, or in the middle of a large array, is not seen.
//
// Not thread-safe: one detector per PHP thread and run of the script, used
// only on that thread inside the boot request (it holds pointers to the
// run's classes and functions). Its own memory is the C++ heap; the Zend
// values it creates while probing are freed before Check() returns. It
// never writes to the application's data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tfpm::sapi {

class LeakDetector {
 public:
  // allow: item names as above; a trailing '*' matches any name it starts.
  explicit LeakDetector(std::vector<std::string> allow);
  ~LeakDetector();
  LeakDetector(const LeakDetector&) = delete;
  LeakDetector& operator=(const LeakDetector&) = delete;

  // The first call records the state (the baseline after the boot). Each
  // later call appends to *changed the names of the items that differ from
  // the previous call's state, minus the allowlist and items marked
  // #[TfpmAllowState], and records the new state. Call with a PHP
  // execution context (inside tfpm_handle_request()).
  void Check(std::vector<std::string>* changed);

  // How many items the last Check() fingerprinted (tests, diagnostics).
  size_t items() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Registers the attribute class TfpmAllowState (MINIT).
void RegisterLeakCheckClasses();

}  // namespace tfpm::sapi
