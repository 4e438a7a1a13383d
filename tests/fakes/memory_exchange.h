// MemoryExchange: a fastcgi::Exchange over strings, for SAPI tests that run
// real PHP without sockets. Params keep the NUL-after-each contract.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "fastcgi/exchange.h"

namespace tfpm::testing {

class MemoryExchange final : public fastcgi::Exchange {
 public:
  MemoryExchange(const std::vector<std::pair<std::string, std::string>>& params, std::string body = "")
      : body_(std::move(body)) {
    size_t total = 0;
    for (const auto& [n, v] : params) total += n.size() + v.size() + 2;
    store_.reserve(total);
    for (const auto& [n, v] : params) {
      const size_t at = store_.size();
      store_.append(n).push_back('\0');
      store_.append(v).push_back('\0');
      params_.emplace_back(std::string_view(store_.data() + at, n.size()),
                           std::string_view(store_.data() + at + n.size() + 1, v.size()));
    }
  }

  uint16_t role() const override { return 1; }
  std::span<const Param> params() const override { return params_; }
  ssize_t ReadStdin(std::span<char> buf) override {
    const size_t n = std::min(buf.size(), body_.size() - body_pos_);
    std::memcpy(buf.data(), body_.data() + body_pos_, n);
    body_pos_ += n;
    return static_cast<ssize_t>(n);
  }
  bool WriteStdout(std::string_view d) override {
    if (!finished_) out_.append(d);
    return true;
  }
  bool WriteStderr(std::string_view d) override {
    if (!finished_) err_.append(d).push_back('\n');
    return true;
  }
  bool Flush() override { return true; }
  void Finish(uint32_t app_status) override {
    if (finished_) return;
    finished_ = true;
    app_status_ = app_status;
  }
  bool finished() const override { return finished_; }
  bool aborted() const override { return false; }

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }
  // The body after the CGI head.
  std::string Body() const {
    auto at = out_.find("\r\n\r\n");
    return at == std::string::npos ? out_ : out_.substr(at + 4);
  }
  std::string Head() const {
    auto at = out_.find("\r\n\r\n");
    return at == std::string::npos ? "" : out_.substr(0, at + 2);
  }

 private:
  std::string store_;
  std::vector<Param> params_;
  std::string body_;
  size_t body_pos_ = 0;
  std::string out_, err_;
  bool finished_ = false;
  uint32_t app_status_ = 0;
};

}  // namespace tfpm::testing
