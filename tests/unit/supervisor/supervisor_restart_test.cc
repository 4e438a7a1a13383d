// The Supervisor's reaping and restart, kept-connection handover and control
// server, driven end to end over the fakes (supervisor_harness.h): what it
// does when a worker exits (restart after RestartPolicy's backoff, the
// emergency restart), where a kept connection goes, and how a pm-ctl client
// is answered.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "base/restart_cause.h"
#include "control/protocol.h"
#include "os/fd_io.h"
#include "os/socket.h"
#include "unit/supervisor/supervisor_harness.h"

namespace tfpm::supervisor {
namespace {

using std::chrono::milliseconds;
using test::Harness;
namespace wc = ipc;

TEST_CASE("supervisor restart: a worker that dies is replaced in its slot after a backoff that doubles") {
  Harness h;
  const auto first = h.StartReady(h.Yaml(1));
  REQUIRE(first.size() == 1);
  h.Exit(first[0], 0, SIGSEGV);  // up 1 s, less than failure_window (10 s): a quick failure
  CHECK(h.SpawnedSince(1).empty());
  h.Advance(milliseconds(99));
  CHECK(h.SpawnedSince(1).empty());
  h.Advance(milliseconds(1));  // min_delay 100 ms
  const auto second = h.SpawnedSince(1);
  REQUIRE(second.size() == 1);
  h.Ready(second[0]);
  h.Exit(second[0], 255);
  h.Advance(milliseconds(199));
  CHECK(h.SpawnedSince(2).empty());
  h.Advance(milliseconds(1));  // the second quick failure in a row: 200 ms
  const auto third = h.SpawnedSince(2);
  REQUIRE(third.size() == 1);
  // One that stayed up failure_window is replaced at once.
  h.Ready(third[0]);
  h.Advance(milliseconds(10000));
  h.Exit(third[0], 0, SIGKILL);
  CHECK(h.SpawnedSince(3).size() == 1);
}

TEST_CASE("supervisor restart: a worker that drained and exited during a stop is not replaced") {
  Harness h;
  const auto first = h.StartReady(h.Yaml(2));
  h.Signal(SIGQUIT);
  REQUIRE(h.Got(first[0], SIGQUIT));
  REQUIRE(h.Got(first[1], SIGQUIT));
  h.Exit(first[0], 0);
  h.Advance(milliseconds(1000));
  CHECK(h.SpawnedSince(2).empty());
}

std::string EmergencyYaml(const Harness& h, int threshold) {
  return "daemon:\n  control_socket: " + h.dir() + "/ctl.sock\n  startup_probation: 1s\n" +
         "  emergency_restart_threshold: " + std::to_string(threshold) + "\n  emergency_restart_interval: 10s\n" +
         "pools:\n  www:\n    listen: " + h.dir() + "/www.sock\n    processes: 3\n    threads: 1\n";
}

TEST_CASE("supervisor restart: emergency_restart_threshold crashes within the interval restart every pool") {
  Harness h;
  const auto first = h.StartReady(EmergencyYaml(h, 2));
  REQUIRE(first.size() == 3);
  h.Exit(first[0], 0, SIGSEGV);
  CHECK_FALSE(h.Notified("emergency restart"));
  h.Exit(first[1], 0, 1);  // SIGHUP: not a crash, not counted
  CHECK_FALSE(h.Notified("emergency restart"));
  h.Exit(first[2], 0, SIGBUS);  // the second crash within 10 s
  CHECK(h.Notified("RELOADING=1"));
  CHECK(h.Notified("STATUS=emergency restart"));
  const auto fresh = h.SpawnedSince(3);
  REQUIRE(fresh.size() == 3);  // a new generation of every slot
  for (pid_t p : fresh) h.Ready(p);
  h.Advance(milliseconds(1000));
  CHECK(h.Notified("READY=1\nSTATUS=serving"));
}

TEST_CASE("supervisor restart: crashes further apart than the interval restart no pool") {
  Harness h;
  const auto first = h.StartReady(EmergencyYaml(h, 2));
  h.Exit(first[0], 0, SIGSEGV);
  h.Advance(milliseconds(10001));
  h.Exit(first[1], 0, SIGSEGV);
  CHECK_FALSE(h.Notified("emergency restart"));
}

TEST_CASE("supervisor handover: a kept connection from a draining worker goes to a ready worker of the new generation") {
  Harness h;
  const auto old = h.StartReady(h.Yaml(1));
  h.next_text = h.Yaml(1);
  h.Signal(SIGUSR2);
  const auto fresh = h.SpawnedSince(1);
  REQUIRE(fresh.size() == 1);
  h.Ready(fresh[0]);
  h.Advance(milliseconds(1000));
  REQUIRE(h.Got(old[0], SIGQUIT));
  // The old worker hands back a kept connection (one end of a pair).
  auto conn = os::StreamSocketPair();
  REQUIRE(conn.ok());
  REQUIRE(os::SendFd(h.spawner.ChildFd(old[0], wc::kNotifyFd), conn->first.get(), wc::kTagConnection));
  h.Turn();
  std::string data;
  std::vector<os::UniqueFd> fds;
  REQUIRE(os::ReceiveWithFds(h.spawner.ChildFd(fresh[0], wc::kNotifyFd), &data, &fds) > 0);
  REQUIRE(fds.size() == 1);
  CHECK(data.back() == wc::kTagConnection);
  // It is the same connection: what is written to it reaches the other end.
  REQUIRE(os::WriteSome(fds[0].get(), "x").value() == 1);
  char c = 0;
  CHECK(os::ReadSome(conn->second.get(), {&c, 1}).value() == 1);
  CHECK(c == 'x');
}

// One request line to the control socket; the reply line (or "" if none).
std::string Ask(Harness& h, const std::string& request) {
  auto fd = os::ConnectUnix(h.dir() + "/ctl.sock");
  REQUIRE(fd.ok());
  REQUIRE(os::SendSome(fd->get(), request, os::SendMode::kBlocking).ok());
  REQUIRE(::shutdown(fd->get(), SHUT_WR) == 0);
  h.Turn();
  std::string reply;
  char buf[4096];
  for (;;) {
    auto n = os::ReadSome(fd->get(), buf);
    if (!n.ok() || *n == 0) break;
    reply.append(buf, *n);
  }
  return reply;
}

TEST_CASE("supervisor control: a request is answered; a bad one gets an error, not silence") {
  Harness h;
  h.StartReady(h.Yaml(1));
  auto version = control::Json::parse(Ask(h, "{\"cmd\":\"version\"}\n"));
  CHECK(version.at("ok") == true);
  CHECK(version.contains("version"));
  auto unknown = control::Json::parse(Ask(h, "{\"cmd\":\"bogus\"}\n"));
  CHECK(unknown.at("ok") == false);
  CHECK(unknown.at("error").get<std::string>().find("unknown command") != std::string::npos);
  auto unfinished = control::Json::parse(Ask(h, "{\"cmd\":\"version\"}"));  // closed before the newline
  CHECK(unfinished.at("error").get<std::string>().find("one line") != std::string::npos);
  auto too_long = control::Json::parse(Ask(h, std::string(control::kMaxLine + 10, ' ')));
  CHECK(too_long.at("error").get<std::string>().find("too long") != std::string::npos);
}

TEST_CASE("supervisor control: a client that sends nothing is dropped after control_timeout") {
  Harness h;
  h.StartReady(h.Yaml(1));
  auto fd = os::ConnectUnix(h.dir() + "/ctl.sock");
  REQUIRE(fd.ok());
  h.Turn();
  h.Advance(milliseconds(60000));
  char c;
  auto n = os::ReadSome(fd->get(), {&c, 1});
  REQUIRE(n.ok());
  CHECK(*n == 0);  // closed by the supervisor
}

// Pool www's process restarts by cause, as pm-ctl status shows them.
control::Json ProcessRestarts(Harness& h) {
  return control::Json::parse(Ask(h, "{\"cmd\":\"status\"}\n")).at("pools").at(0).at("restarts").at("processes");
}

// Brings the one worker spawned after the first `index` through "ready".
pid_t NextReady(Harness& h, size_t index) {
  h.Advance(milliseconds(1000));  // past any restart backoff
  const auto fresh = h.SpawnedSince(index);
  REQUIRE(fresh.size() == 1);
  h.Ready(fresh[0]);
  return fresh[0];
}

TEST_CASE("supervisor restart: each worker exit is counted under its cause in pm-ctl status") {
  Harness h;
  const auto first = h.StartReady(h.Yaml(1));
  CHECK(ProcessRestarts(h).at("crash") == 0);
  h.Exit(first[0], 0, SIGKILL);  // a signal the supervisor did not send
  h.Exit(NextReady(h, 1), base::kExitStuckThread);  // a thread stuck after request_terminate_timeout
  h.Exit(NextReady(h, 2), 1);                       // on its own
  const pid_t old = NextReady(h, 3);
  h.Advance(milliseconds(1000));
  h.next_text = h.Yaml(1);
  h.Signal(SIGUSR2);
  NextReady(h, 4);
  h.Advance(milliseconds(1000));  // the new generation's probation: the old one drains
  REQUIRE(h.Got(old, SIGQUIT));
  h.Exit(old, 0);
  const control::Json want{{"crash", 1}, {"exit", 1},    {"max_requests", 0}, {"memory", 0},
                           {"watch", 0}, {"reload", 1}, {"timeout", 1},      {"recycle", 0}};
  CHECK(ProcessRestarts(h) == want);
}

}  // namespace
}  // namespace tfpm::supervisor
