// Fakes of what a worker's MainThread acts on (worker/main_thread.h): each
// records what it was asked and answers what the test set.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "ipc/notify.h"
#include "worker/handover.h"
#include "worker/dispatcher_control.h"
#include "worker/supervisor_link.h"
#include "worker/watchdog.h"

namespace tfpm::testing {

class FakeServer final : public worker::DispatcherControl {
 public:
  // Answers.
  int live = 1;
  int busy_threads = 0;
  bool pending = false;
  bool idle = true;
  bool quiet = false;
  int shed_next = 0;  // ShedOverdue returns this once
  uint64_t served = 0;
  std::chrono::milliseconds tick{500};
  // Records.
  int begin_drain_calls = 0;
  int started = 0;
  int retired = 0;
  int shed_calls = 0;
  int adopted = 0;
  bool handover_disabled = false;

  void JoinExited() override {}
  int live_threads() override { return live; }
  int busy() const override { return busy_threads; }
  bool Pending() override { return pending; }
  bool StartThread() override {
    ++started;
    ++live;
    return true;
  }
  void RetireThreads(int n) override { retired += n; }
  int CancelRetires() override { return 0; }
  int ShedOverdue(std::chrono::milliseconds) override {
    ++shed_calls;
    return std::exchange(shed_next, 0);
  }
  std::chrono::milliseconds Tick() override { return tick; }
  void BeginDrain() override { ++begin_drain_calls; }
  bool Idle() const override { return idle; }
  bool QuietFor(std::chrono::milliseconds) override { return quiet; }
  void Adopt(os::UniqueFd) override { ++adopted; }
  void DisableHandOver() override { handover_disabled = true; }
  uint64_t requests_served() const override { return served; }
};

class FakeSupervisor final : public worker::SupervisorLink {
 public:
  int socket = 4;  // -1: no supervisor
  std::vector<std::string> sent;  // the lines, as the real link would send them
  std::vector<Received> inbox;    // Receive() returns these in order, then nothing

  int fd() const override { return socket; }
  void SendReady() override { sent.emplace_back(ipc::Encode(ipc::Message::kReady)); }
  void SendDraining() override { sent.emplace_back(ipc::Encode(ipc::Message::kDraining)); }
  void SendRecycle(worker::RecycleCause cause) override { sent.push_back(worker::RecycleLine(cause)); }
  Received Receive() override {
    if (inbox.empty()) return {};
    Received r = std::move(inbox.front());
    inbox.erase(inbox.begin());
    return r;
  }
  int count(std::string_view line) const {
    int n = 0;
    for (const auto& s : sent) n += s == line;
    return n;
  }
};

class FakeTimeouts final : public worker::RequestTimeouts {
 public:
  bool on = false;
  int stuck_threads = 0;
  int ticks = 0;
  bool enabled() const override { return on; }
  std::chrono::milliseconds interval() const override { return std::chrono::milliseconds(50); }
  void Tick() override { ++ticks; }
  int stuck() const override { return stuck_threads; }
};

class FakeLogFiles final : public worker::LogFiles {
 public:
  int reopened = 0;
  std::vector<worker::HandedKind> replaced;
  void ReopenOwn() override { ++reopened; }
  void Replace(worker::HandedKind kind, os::UniqueFd) override { replaced.push_back(kind); }
};

}  // namespace tfpm::testing
