"""Pool scaling with threads as the unit (pm: static | dynamic | ondemand,
docs/config.md "Scaling"): threads start and retire inside a process,
processes are added when every one is full and drained when not needed,
and no request fails or is refused while any of that happens."""
import json
import subprocess
import threading
import time

import pytest

import fcgi
from helpers import ALLOW_ROOT, PHP_DIR, SLOW, TFPM, php_fixture, wait_until
from load import Load

SLEEP = php_fixture("sleep")
ECHO = php_fixture("echo")


def pool_status(tfpm, name="www"):
    return next(p for p in tfpm.status()["pools"] if p["name"] == name)


def threads_of(tfpm):
    """[[thread state, ...] per process] of pool www, in slot order."""
    return [[t["state"] for t in p["threads"]] for p in pool_status(tfpm)["processes"]]


def thread_count(tfpm):
    return sum(len(p) for p in threads_of(tfpm))


def slow_requests(tfpm, n, ms):
    """Starts n concurrent slow requests; returns (threads, results list)."""
    results = [None] * n

    def one(i):
        try:
            r = fcgi.request(tfpm.sock, SLEEP, query=f"ms={ms}", timeout=60 * SLOW)
            results[i] = (r.status, r.body)
        except Exception as e:  # recorded, asserted by the caller
            results[i] = ("error", repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results


def finish(threads, results, ms):
    for t in threads:
        t.join(60 * SLOW)
    assert all(r == (200, f"slept {ms} ms\n".encode()) for r in results), results


def test_dynamic_pool_starts_at_most_max_spawn_rate_threads_per_second(tfpm_factory):
    """php-fpm's pm.max_spawn_rate: 6 requests take every idle thread, 6
    more threads are wanted at once; with max_spawn_rate 2 a second gets 2,
    with the 'seems busy' warning (the cap itself is unit-tested with a
    made-up clock: thread_scaler_test); all of them come, in later seconds."""
    tfpm = tfpm_factory(pm="dynamic", processes=1, threads=16, start_threads=6, min_spare_threads=6,
                        max_spare_threads=16, max_spawn_rate=2)
    assert thread_count(tfpm) == 6
    ms = 4000
    threads, results = slow_requests(tfpm, 6, ms)
    wait_until(lambda: "max_spawn_rate (2) threads started in this second" in tfpm.log_text(), 20 * SLOW,
               what="the seems-busy line")
    wait_until(lambda: thread_count(tfpm) == 12, 30 * SLOW, interval=0.1, what="6 running + 6 idle threads")
    finish(threads, results, ms)
    assert "seems busy (you may need to increase start_threads or min/max_spare_threads)" in tfpm.log_text()


@pytest.mark.sanitize
def test_dynamic_pool_scales_threads_up_under_load_and_back_to_max_spare(tfpm_factory):
    tfpm = tfpm_factory(pm="dynamic", processes=1, threads=6, start_threads=1, min_spare_threads=1,
                        max_spare_threads=2)
    assert threads_of(tfpm) == [["Idle"]], "starts with start_threads"
    ms = 2500
    threads, results = slow_requests(tfpm, 4, ms)
    # 4 busy + min_spare_threads idle.
    wait_until(lambda: thread_count(tfpm) == 5 and threads_of(tfpm)[0].count("Running") == 4, 20 * SLOW,
               what="5 threads, 4 running")
    finish(threads, results, ms)
    # 5 idle > max_spare_threads (2): the excess exits after a second.
    wait_until(lambda: threads_of(tfpm) == [["Idle", "Idle"]], 20 * SLOW, interval=0.1,
               what="back to max_spare_threads idle threads")
    # The retired threads' interpreters were freed on their own threads, and
    # the pool still serves at once.
    r = fcgi.request(tfpm.sock, ECHO, query="a=1")
    assert r.status == 200
    st = pool_status(tfpm)
    assert st["pm"] == "dynamic"
    assert st["requests"] >= 5
    assert "Stopped" not in {t["state"] for p in st["processes"] for t in p["threads"]}


@pytest.mark.sanitize
def test_dynamic_pool_adds_a_process_when_full_and_stops_it_when_idle(tfpm_factory):
    tfpm = tfpm_factory(pm="dynamic", processes=2, threads=2, start_threads=1, min_spare_threads=1,
                        max_spare_threads=2, idle_timeout="1s")
    first = [p["pid"] for p in pool_status(tfpm)["processes"]]
    assert len(first) == 1
    ms = 3000
    threads, results = slow_requests(tfpm, 3, ms)
    # The first process fills its 2 threads; the third request needs a second
    # process (it waits in the listen queue meanwhile, it is not refused).
    wait_until(lambda: len(pool_status(tfpm)["processes"]) == 2, 20 * SLOW, what="a second process")
    wait_until(lambda: sum(s.count("Running") for s in threads_of(tfpm)) == 3, 20 * SLOW,
               what="3 requests running in 2 processes")
    finish(threads, results, ms)
    assert "have 2 busy threads: starting another" in tfpm.log_text()
    # Idle for idle_timeout: the newest process is drained and not replaced.
    wait_until(lambda: [p["pid"] for p in pool_status(tfpm)["processes"]] == first, 20 * SLOW, interval=0.1,
               what="back to the first process only")
    wait_until(lambda: len(tfpm.worker_pids()) == 1, 10 * SLOW, what="the drained process to exit")
    assert "not needed for 1000 ms" in tfpm.log_text()
    r = fcgi.request(tfpm.sock, ECHO, query="a=1")
    assert r.status == 200


@pytest.mark.sanitize
def test_ondemand_pool_starts_threads_on_demand_and_returns_to_zero(tfpm_factory):
    tfpm = tfpm_factory(pm="ondemand", processes=1, threads=3, idle_timeout="500ms")
    st = pool_status(tfpm)
    assert st["pm"] == "ondemand"
    assert len(st["processes"]) == 1 and st["processes"][0]["state"] == "ready"
    assert threads_of(tfpm) == [[]], "no PHP thread before traffic"
    out = tfpm.ctl("status").stdout
    assert "mode classic  pm ondemand  busy 0  idle 0  requests 0" in out, out
    assert "    no PHP thread (pm ondemand: one starts with the next request)" in out, out
    # The first connection starts a thread, which serves it.
    r = fcgi.request(tfpm.sock, ECHO, query="first=1", timeout=20 * SLOW)
    assert r.status == 200 and b"first" in r.body
    assert thread_count(tfpm) >= 1
    # Concurrent requests: more threads, never more than `threads`.
    ms = 1500
    threads, results = slow_requests(tfpm, 3, ms)
    wait_until(lambda: threads_of(tfpm) == [["Running"] * 3], 20 * SLOW, what="3 running threads")
    finish(threads, results, ms)
    # idle_timeout: every thread exits again.
    wait_until(lambda: threads_of(tfpm) == [[]], 20 * SLOW, interval=0.1, what="0 threads after idle_timeout")
    r = fcgi.request(tfpm.sock, ECHO, query="again=1", timeout=20 * SLOW)
    assert r.status == 200 and b"again" in r.body


@pytest.mark.sanitize
def test_ondemand_kept_connection_wakes_a_thread(tfpm_factory):
    """A kept-alive connection parked in the epoll set while the process has
    no thread: its next request must start one (not only the listener)."""
    tfpm = tfpm_factory(pm="ondemand", processes=1, threads=2, idle_timeout="200ms")
    sock = fcgi.connect(tfpm.sock)
    try:
        r = fcgi.request(tfpm.sock, ECHO, query="n=1", keep_conn=True, sock=sock)
        assert r.status == 200
        wait_until(lambda: threads_of(tfpm) == [[]], 20 * SLOW, interval=0.05, what="0 threads")
        r = fcgi.request(tfpm.sock, ECHO, query="n=2", keep_conn=True, sock=sock)
        assert r.status == 200 and b"n" in r.body
    finally:
        sock.close()


@pytest.mark.sanitize
@pytest.mark.parametrize("pm", ["ondemand", "dynamic"])
def test_scaling_churn_under_load_loses_no_request(tfpm_factory, pm):
    """Threads start and retire every few tens of ms while requests keep
    arriving, and a second process comes and goes: nothing fails."""
    keys = {"idle_timeout": "50ms"}
    if pm == "dynamic":
        keys.update(start_threads=1, min_spare_threads=1, max_spare_threads=1)
    tfpm = tfpm_factory(pm=pm, processes=2, threads=3, **keys)
    counts = []
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            st = tfpm.try_status()
            if st:
                procs = st["pools"][0]["processes"]
                counts.append((len(procs), sum(len(p["threads"]) for p in procs)))
            time.sleep(0.03)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    loads = []
    try:
        for burst in range(4):
            # Spiky clients (think time > idle_timeout: threads retire between
            # their requests) plus a burst of slow ones that fill a process.
            spiky = Load(tfpm.sock, PHP_DIR, [("fast", 4)], think_s=0.08, timeout=60 * SLOW)
            heavy = Load(tfpm.sock, PHP_DIR, [("slow", 4), ("fast", 2)], slow_ms=300, think_s=0.002,
                         timeout=60 * SLOW)
            spiky.start()
            heavy.start()
            time.sleep(1.0 * SLOW)
            heavy.stop()
            time.sleep(1.5 * SLOW)
            spiky.stop()
            loads += [spiky, heavy]
            time.sleep(0.5 * SLOW)
    finally:
        sampling.set()
        sampler.join(10)
    failures = [f for load in loads for f in load.failures()]
    total = sum(load.count() for load in loads)
    assert total > 50, total
    assert not failures, f"{len(failures)} of {total} failed: {failures[:5]}"
    seen = [t for _, t in counts]
    peak = max(seen)
    assert peak >= 4, f"never scaled up: {seen}"
    # After the first peak: back to no thread (ondemand), or to one process
    # with max_spare_threads idle plus a busy spiky request or two (dynamic).
    low = min(seen[seen.index(peak):])
    assert low <= (0 if pm == "ondemand" else 2), f"never scaled down: {seen}"
    assert max(p for p, _ in counts) == 2, "a second process was never started"
    log = tfpm.log_text()
    assert "starting another" in log
    for bad in ("Segmentation", "ERROR: ThreadSanitizer", "AddressSanitizer"):
        assert bad not in log


BAD = [
    (["    pm: sometimes"], 6, "pools.www.pm", "must be one of static, dynamic, ondemand"),
    (["    min_spare_threads: 2"], 6, "pools.www.min_spare_threads", "is only used when pm is dynamic"),
    (["    pm: dynamic", "    threads: 4", "    max_spare_threads: 5"], 8, "pools.www.max_spare_threads",
     "must be <= threads (4)"),
    (["    pm: dynamic", "    threads: 8", "    min_spare_threads: 3", "    max_spare_threads: 2"], 9,
     "pools.www.max_spare_threads", "max_spare_threads (2) must be >= min_spare_threads (3)"),
    (["    pm: dynamic", "    threads: 8", "    min_spare_threads: 2", "    max_spare_threads: 4",
      "    start_threads: 1"], 10, "pools.www.start_threads",
     "must be between min_spare_threads (2) and max_spare_threads (4)"),
    (["    pm: static", "    idle_timeout: 5s"], 7, "pools.www.idle_timeout",
     "is only used when pm is dynamic or ondemand"),
]


@pytest.mark.parametrize("lines,line,key,message", BAD, ids=[b[2].rsplit(".", 1)[1] + str(i) for i, b in enumerate(BAD)])
def test_scaling_config_errors_name_file_line_and_key(tmp_path, lines, line, key, message):
    path = tmp_path / "tfpm.yaml"
    path.write_text("\n".join(["daemon:", "  error_log: stderr", "pools:", "  www:",
                               f"    listen: {tmp_path}/www.sock", *lines]) + "\n")
    r = subprocess.run([str(TFPM), *ALLOW_ROOT, "--config", str(path), "--test"], capture_output=True, text=True,
                       timeout=30 * SLOW)
    assert r.returncode != 0
    assert (r.stderr + r.stdout).strip().splitlines()[0] == f"{path}:{line}: {key}: {message}"


@pytest.mark.sanitize
def test_worker_mode_ondemand_threads_boot_serve_and_retire(tfpm_factory):
    """mode: worker with pm: ondemand: a retired thread ends its worker
    script's run cleanly (tfpm_handle_request() returns false), a new one
    boots the script again."""
    app = php_fixture("worker", "app.php")
    tfpm = tfpm_factory(mode="worker", worker={"script": app}, pm="ondemand", processes=1, threads=2,
                        idle_timeout="300ms")
    assert threads_of(tfpm) == [[]]
    first = fcgi.request(tfpm.sock, app, query="id=1", timeout=20 * SLOW)
    assert first.status == 200, first
    boot1 = json.loads(first.body)["boot"]
    wait_until(lambda: threads_of(tfpm) == [[]], 20 * SLOW, interval=0.05, what="0 threads")
    second = fcgi.request(tfpm.sock, app, query="id=2", timeout=20 * SLOW)
    assert second.status == 200, second
    assert json.loads(second.body)["boot"] != boot1, "a new thread boots the script again"
    assert "failed" not in tfpm.log_text()


def test_reload_starts_as_many_processes_as_a_dynamic_pool_runs(tfpm_factory):
    tfpm = tfpm_factory(pm="dynamic", processes=3, threads=1, start_threads=1, min_spare_threads=1,
                        max_spare_threads=1, idle_timeout="60s")
    ms = 6000  # room for two process starts on a loaded machine
    # Two 1-thread processes busy: both full, so a third one is started.
    threads, results = slow_requests(tfpm, 2, ms)
    wait_until(lambda: len(pool_status(tfpm)["processes"]) == 3, 20 * SLOW, what="3 processes")
    finish(threads, results, ms)
    tfpm.ctl("reload")  # answered once the new generation is ready
    st = tfpm.status()
    assert st["generation"] == 2
    procs = pool_status(tfpm)["processes"]
    assert len(procs) == 3 and all(p["generation"] == 2 for p in procs), procs
    assert fcgi.request(tfpm.sock, ECHO).status == 200
