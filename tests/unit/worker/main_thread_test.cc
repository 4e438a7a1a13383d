#include "worker/main_thread.h"

#include <doctest/doctest.h>

#include <memory>
#include <optional>

#include "fakes/fake_clock.h"
#include "unit/worker/main_thread_fakes.h"

namespace tfpm::worker {
namespace {

using namespace std::chrono_literals;
using Kind = MainThread::Step::Kind;
using testing::FakeClock;

// One worker process's main thread over fakes. Set the knobs, then Make().
struct Rig {
  FakeClock clock;
  testing::FakeServer server;
  testing::FakeSupervisor supervisor;
  testing::FakeTimeouts timeouts;
  testing::FakeLogFiles logs;
  scoreboard::Header header{};
  ScalerOptions scaling;  // static by default
  std::chrono::milliseconds max_wait{0};
  std::chrono::milliseconds control_timeout{0};
  RecycleLimits recycle_limits;
  std::optional<uint64_t> rss;
  int files_changed = 0;

  std::optional<ThreadScaler> scaler;
  std::optional<LoadShedder> shedder;
  std::optional<RecycleCheck> recycle;
  std::unique_ptr<MainThread> main;

  MainThread& Make() {
    header.accepting.store(1);
    scaling.max_threads = 4;
    scaler.emplace(scaling);
    shedder.emplace(max_wait, 4, &header.rejected_requests);
    recycle.emplace(recycle_limits, 42, [this] { return rss; });
    main = std::make_unique<MainThread>(
        MainThreadOptions{.pool = "www", .max_threads = 4, .process_control_timeout = control_timeout},
        MainThreadDeps{.clock = &clock,
                       .server = &server,
                       .supervisor = &supervisor,
                       .timeouts = &timeouts,
                       .scaler = &*scaler,
                       .shedder = &*shedder,
                       .recycle = &*recycle,
                       .logs = &logs,
                       .board = &header,
                       .files_changed = [this] { ++files_changed; }});
    return *main;
  }
  // One turn of the loop: prepare the wait, then tick after `elapsed`.
  MainThread::Step Turn(MainThread::Wakeup wakeup = {}, std::chrono::milliseconds elapsed = 10ms) {
    main->PrepareWait();
    clock.Advance(elapsed);
    return main->Tick(wakeup);
  }
  static MainThread::Wakeup Signal(int signo) {
    MainThread::Wakeup w;
    w.signals.push_back({.signo = signo, .sender_pid = 1});
    return w;
  }
  static MainThread::Wakeup FromSupervisor(SupervisorLink::Received r, testing::FakeSupervisor& s) {
    s.inbox.push_back(std::move(r));
    MainThread::Wakeup w;
    w.supervisor_readable = true;
    return w;
  }
};

TEST_CASE("with nothing to do the main thread keeps serving") {
  Rig rig;
  MainThread& main = rig.Make();
  for (int i = 0; i < 5; ++i) CHECK(rig.Turn().kind == Kind::kContinue);
  CHECK_FALSE(main.draining());
  CHECK(rig.server.begin_drain_calls == 0);
  CHECK(rig.supervisor.sent.empty());
  CHECK(rig.header.accepting.load() == 1);
}

TEST_CASE("SIGQUIT drains once, tells the supervisor once, and stops when the requests are done") {
  Rig rig;
  MainThread& main = rig.Make();
  rig.server.idle = false;  // a request runs
  CHECK(rig.Turn(Rig::Signal(SIGQUIT)).kind == Kind::kContinue);
  CHECK(main.draining());
  CHECK(rig.server.begin_drain_calls == 1);
  CHECK(rig.header.accepting.load() == 0);
  CHECK(rig.supervisor.count(ipc::Encode(ipc::Message::kDraining)) == 1);
  // A second SIGQUIT changes nothing.
  CHECK(rig.Turn(Rig::Signal(SIGQUIT)).kind == Kind::kContinue);
  CHECK(rig.server.begin_drain_calls == 1);
  CHECK(rig.supervisor.count(ipc::Encode(ipc::Message::kDraining)) == 1);
  // Kept connections go to the supervisor, so no need to wait for quiet.
  rig.server.idle = true;
  rig.server.quiet = false;
  CHECK(rig.Turn().kind == Kind::kStop);
}

TEST_CASE("SIGTERM and SIGINT exit at once with status 0") {
  for (int signo : {SIGTERM, SIGINT}) {
    Rig rig;
    rig.Make();
    rig.server.idle = false;
    const MainThread::Step step = rig.Turn(Rig::Signal(signo));
    CHECK(step.kind == Kind::kExitNow);
    CHECK(step.exit_code == 0);
  }
}

TEST_CASE("SIGUSR1 reopens the log files") {
  Rig rig;
  rig.Make();
  CHECK(rig.Turn(Rig::Signal(SIGUSR1)).kind == Kind::kContinue);
  CHECK(rig.logs.reopened == 1);
  CHECK_FALSE(rig.main->draining());
}

TEST_CASE("the supervisor gone: drain, keep connections, and stop once they are quiet") {
  Rig rig;
  MainThread& main = rig.Make();
  CHECK(main.supervisor_fd() == 4);
  SupervisorLink::Received eof;
  eof.closed = true;
  CHECK(rig.Turn(Rig::FromSupervisor(std::move(eof), rig.supervisor)).kind == Kind::kContinue);
  CHECK(main.draining());
  CHECK_FALSE(main.supervisor_alive());
  CHECK(rig.server.handover_disabled);
  CHECK(main.supervisor_fd() == -1);
  // Idle but a kept connection was used a moment ago: not yet.
  CHECK(rig.Turn().kind == Kind::kContinue);
  rig.server.quiet = true;
  CHECK(rig.Turn().kind == Kind::kStop);
}

TEST_CASE("a worker run without a supervisor never watches its socket") {
  Rig rig;
  rig.supervisor.socket = -1;
  MainThread& main = rig.Make();
  CHECK_FALSE(main.supervisor_alive());
  CHECK(main.supervisor_fd() == -1);
}

TEST_CASE("descriptors from the supervisor: connections adopted, logs replaced by tag") {
  Rig rig;
  rig.Make();
  SupervisorLink::Received conns;
  conns.tag = 'c';
  conns.fds.emplace_back();
  conns.fds.emplace_back();
  CHECK(rig.Turn(Rig::FromSupervisor(std::move(conns), rig.supervisor)).kind == Kind::kContinue);
  CHECK(rig.server.adopted == 2);
  SupervisorLink::Received access;
  access.tag = 'A';
  access.fds.emplace_back();
  rig.Turn(Rig::FromSupervisor(std::move(access), rig.supervisor));
  REQUIRE(rig.logs.replaced.size() == 1);
  CHECK(rig.logs.replaced[0] == HandedKind::kAccessLog);
  CHECK(rig.server.adopted == 2);
  CHECK_FALSE(rig.main->draining());
}

TEST_CASE("a drain that outlasts process_control_timeout exits") {
  Rig rig;
  rig.control_timeout = 1000ms;
  rig.Make();
  rig.server.idle = false;
  CHECK(rig.Turn(Rig::Signal(SIGQUIT), 0ms).kind == Kind::kContinue);
  CHECK(rig.Turn({}, 999ms).kind == Kind::kContinue);
  const MainThread::Step step = rig.Turn({}, 1ms);
  CHECK(step.kind == Kind::kExitNow);
  CHECK(step.exit_code == 0);
}

TEST_CASE("without process_control_timeout a drain waits for its requests") {
  Rig rig;
  rig.Make();
  rig.server.idle = false;
  rig.Turn(Rig::Signal(SIGQUIT));
  CHECK(rig.Turn({}, 3600s).kind == Kind::kContinue);
}

TEST_CASE("a stuck thread: drain, then exit 75 once only stuck threads are busy") {
  Rig rig;
  rig.timeouts.on = true;
  MainThread& main = rig.Make();
  rig.server.busy_threads = 2;
  rig.server.idle = false;
  CHECK(rig.Turn().kind == Kind::kContinue);
  CHECK(rig.timeouts.ticks == 1);
  rig.timeouts.stuck_threads = 1;
  CHECK(rig.Turn().kind == Kind::kContinue);
  CHECK(main.replacing());
  CHECK(main.draining());
  CHECK(rig.supervisor.count(ipc::Encode(ipc::Message::kDraining)) == 1);
  rig.server.busy_threads = 1;
  const MainThread::Step step = rig.Turn();
  CHECK(step.kind == Kind::kExitNow);
  CHECK(step.exit_code == kExitStuckThread);
}

TEST_CASE("process_max_requests: the replacement is asked for at the threshold, then once a second") {
  Rig rig;
  rig.recycle_limits.max_requests = 100;
  MainThread& main = rig.Make();
  rig.server.served = 99;  // below any threshold in [100, 125]
  CHECK(rig.Turn({}, 200ms).kind == Kind::kContinue);
  CHECK(rig.supervisor.sent.empty());
  rig.server.served = 200;
  rig.Turn({}, 200ms);
  const std::string line = RecycleLine(RecycleCause::kMaxRequests);
  CHECK(line == "recycle max_requests\n");
  CHECK(rig.supervisor.count(line) == 1);
  for (int i = 0; i < 8; ++i) rig.Turn({}, 100ms);  // 800 ms: not again yet
  CHECK(rig.supervisor.count(line) == 1);
  rig.Turn({}, 300ms);
  CHECK(rig.supervisor.count(line) == 2);
  // Draining: the supervisor asked for it; no more.
  rig.Turn(Rig::Signal(SIGQUIT));
  rig.server.idle = false;
  for (int i = 0; i < 5; ++i) rig.Turn({}, 1000ms);
  CHECK(rig.supervisor.count(line) == 2);
  CHECK(main.draining());
}

TEST_CASE("process_memory_limit: resident memory over the limit asks for a replacement") {
  Rig rig;
  rig.recycle_limits.memory_limit = 1000;
  rig.Make();
  rig.rss = 1000;
  rig.Turn({}, 200ms);
  CHECK(rig.supervisor.sent.empty());
  rig.rss = 1001;
  rig.Turn({}, 200ms);
  CHECK(rig.supervisor.count("recycle memory\n") == 1);
}

TEST_CASE("recycling is checked at most every 100 ms and the wait is bounded by it") {
  Rig rig;
  rig.recycle_limits.max_requests = 100;
  rig.server.tick = 10000ms;
  MainThread& main = rig.Make();
  CHECK(main.PrepareWait() == RecycleCheck::kIntervalMs);
  rig.server.served = 1000;
  rig.Turn({}, 0ms);
  CHECK(rig.supervisor.sent.size() == 1);
  rig.supervisor.sent.clear();
  // A fresh rig reaching the threshold less than 100 ms after a check waits
  // for the next one.
  Rig late;
  late.recycle_limits.max_requests = 100;
  late.Make();
  late.Turn({}, 0ms);  // checked with 0 served
  late.server.served = 1000;
  late.Turn({}, 50ms);
  CHECK(late.supervisor.sent.empty());
  late.Turn({}, 50ms);
  CHECK(late.supervisor.sent.size() == 1);
}

TEST_CASE("max_wait_time: shed requests are counted on the scoreboard; none while draining") {
  Rig rig;
  rig.max_wait = 100ms;
  MainThread& main = rig.Make();
  rig.server.shed_next = 3;
  rig.Turn();
  CHECK(rig.server.shed_calls == 1);
  CHECK(rig.header.rejected_requests.load() == 3);
  rig.server.shed_next = 2;
  rig.Turn();
  CHECK(rig.header.rejected_requests.load() == 5);
  rig.server.idle = false;
  rig.Turn(Rig::Signal(SIGQUIT));
  const int calls = rig.server.shed_calls;
  rig.Turn();
  CHECK(rig.server.shed_calls == calls);
  CHECK(main.draining());
}

TEST_CASE("static pools never shed nor scale") {
  Rig rig;
  rig.Make();
  rig.server.shed_next = 3;
  rig.server.pending = true;
  rig.server.live = 1;
  rig.server.busy_threads = 1;
  rig.Turn();
  CHECK(rig.server.shed_calls == 0);
  CHECK(rig.server.started == 0);
  CHECK_FALSE(rig.main->WatchListeners());
}

TEST_CASE("ondemand: a waiting connection with every thread busy starts a thread") {
  Rig rig;
  rig.scaling.pm = config::ProcessManager::kOndemand;
  MainThread& main = rig.Make();
  rig.server.live = 1;
  rig.server.busy_threads = 1;
  CHECK(main.WatchListeners());
  CHECK(main.PrepareWait() <= MainThread::kScaleTickMs);
  rig.server.pending = false;
  rig.Turn();
  CHECK(rig.server.started == 0);
  rig.server.pending = true;
  rig.Turn();
  CHECK(rig.server.started == 1);
  // At max_threads: no more, and the listeners are not watched.
  rig.server.live = 4;
  rig.server.busy_threads = 4;
  rig.Turn();
  CHECK(rig.server.started == 1);
  CHECK_FALSE(main.WatchListeners());
}

TEST_CASE("the wait: the connection clock bounds it; draining polls every 20 ms") {
  Rig rig;
  rig.server.tick = 300ms;
  MainThread& main = rig.Make();
  CHECK(main.PrepareWait() == 300);
  rig.server.tick = 5ms;
  CHECK(main.PrepareWait() == 5);
  rig.server.tick = 300ms;
  rig.server.idle = false;
  rig.Turn(Rig::Signal(SIGQUIT));
  CHECK(main.PrepareWait() == 20);
}

TEST_CASE("watched files changed: the worker scripts are told") {
  Rig rig;
  rig.Make();
  MainThread::Wakeup w;
  w.files_changed = true;
  rig.Turn(w);
  CHECK(rig.files_changed == 1);
  rig.Turn();
  CHECK(rig.files_changed == 1);
}

TEST_CASE("LoadShedder logs at most once a second and counts everything") {
  std::atomic<uint64_t> rejected{0};
  LoadShedder shedder(100ms, 4, &rejected);
  REQUIRE(shedder.enabled());
  FakeClock clock;
  shedder.Record(2, clock.Now());  // logged at once
  CHECK(shedder.unlogged() == 0);
  clock.Advance(500ms);
  shedder.Record(3, clock.Now());
  CHECK(shedder.unlogged() == 3);
  clock.Advance(499ms);
  shedder.Record(0, clock.Now());
  CHECK(shedder.unlogged() == 3);
  clock.Advance(1ms);
  shedder.Record(0, clock.Now());
  CHECK(shedder.unlogged() == 0);
  CHECK(rejected.load() == 5);
  CHECK_FALSE(LoadShedder(0ms, 4, &rejected).enabled());
}

TEST_CASE("handed descriptors are routed by their tag") {
  CHECK(KindOfTag('c') == HandedKind::kConnection);
  CHECK(KindOfTag('E') == HandedKind::kErrorLog);
  CHECK(KindOfTag('A') == HandedKind::kAccessLog);
  CHECK(KindOfTag('W') == HandedKind::kSlowlog);
  CHECK(KindOfTag('?') == HandedKind::kConnection);
}

}  // namespace
}  // namespace tfpm::worker
