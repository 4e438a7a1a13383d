// ThrowingExchange: a MemoryExchange whose writes throw, as a failed
// allocation in the FastCGI connection would: a seam for the SAPI's
// handling of exceptions from our C++ request path.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fakes/memory_exchange.h"

namespace tfpm::testing {

class ThrowingExchange final : public fastcgi::Exchange {
 public:
  ThrowingExchange(const std::vector<std::pair<std::string, std::string>>& params, bool throw_on_stdout,
                   bool throw_on_stderr)
      : inner_(params), throw_on_stdout_(throw_on_stdout), throw_on_stderr_(throw_on_stderr) {}
  uint16_t role() const override { return inner_.role(); }
  std::span<const Param> params() const override { return inner_.params(); }
  ssize_t ReadStdin(std::span<char> buf) override { return inner_.ReadStdin(buf); }
  bool WriteStdout(std::string_view d) override {
    if (throw_on_stdout_) throw std::runtime_error("injected: stdout");
    return inner_.WriteStdout(d);
  }
  bool WriteStderr(std::string_view d) override {
    if (throw_on_stderr_) throw std::runtime_error("injected: stderr");
    return inner_.WriteStderr(d);
  }
  bool Flush() override { return true; }
  void Finish(uint32_t s) override { inner_.Finish(s); }
  bool finished() const override { return inner_.finished(); }
  bool aborted() const override { return false; }

 private:
  MemoryExchange inner_;
  bool throw_on_stdout_, throw_on_stderr_;
};

}  // namespace tfpm::testing
