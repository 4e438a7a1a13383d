"""Regression tests for threading hazards; all run under ASan/TSan builds too.

Each test is named for what it guards. Request counts are bounded and scaled
down for sanitizer builds (helpers.SANITIZER); deadlines are scaled up.
"""
import concurrent.futures
import json
import os
import random
import signal
import socket
import struct
import subprocess
import threading
import time
import uuid

import pytest

import fcgi
from helpers import PM_CTL, SANITIZER, SLOW, crash_lines, php_fixture, wait_until

pytestmark = pytest.mark.sanitize

ECHO = php_fixture("echo")
SLEEP = php_fixture("sleep")
CONCURRENCY = php_fixture("concurrency")


def scaled(normal, sanitized):
    return sanitized if SANITIZER else normal


def params_for(script, query=""):
    return {"REQUEST_METHOD": "GET", "SCRIPT_FILENAME": script, "SCRIPT_NAME": "/index.php",
            "REQUEST_URI": "/index.php", "QUERY_STRING": query, "CONTENT_LENGTH": "0",
            "SERVER_PROTOCOL": "HTTP/1.1"}


def assert_clean_log(tfpm):
    bad = crash_lines(tfpm.log_text())
    assert not bad, "crash or sanitizer report in the tfpm log:\n" + "\n".join(bad[:40])


def test_no_cross_thread_heap_frees(tfpm_factory):
    """Rapid connect/disconnect and short requests, some abandoned before
    the response or half-sent, from 16 client threads against 8 PHP threads:
    memory of one request must never be freed by another thread's heap."""
    tfpm = tfpm_factory(processes=2, threads=4)
    total = scaled(2000, 400)
    clients = 16
    counter = iter(range(total))
    lock = threading.Lock()
    full_ok = [0]
    errors = []

    def next_index():
        with lock:
            return next(counter, None)

    def one(i):
        kind = i % 6
        rid = f"{i}-{uuid.uuid4().hex[:8]}"
        if kind == 0:  # connect, close at once
            s = fcgi.connect(tfpm.sock, timeout=10 * SLOW)
            s.close()
        elif kind == 1:  # half a request, then close
            s = fcgi.connect(tfpm.sock, timeout=10 * SLOW)
            data = fcgi.build_request(params_for(ECHO, f"id={rid}"))
            s.sendall(data[:random.randint(1, len(data) - 1)])
            s.close()
        elif kind == 2:  # whole request, close before reading the response
            s = fcgi.connect(tfpm.sock, timeout=10 * SLOW)
            s.sendall(fcgi.build_request(params_for(CONCURRENCY, f"id={rid}&sleep_ms=1")))
            s.close()
        elif kind == 3:  # reset instead of a clean close (SO_LINGER 0)
            s = fcgi.connect(tfpm.sock, timeout=10 * SLOW)
            s.sendall(fcgi.build_request(params_for(ECHO, f"id={rid}")))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        else:  # a full short request
            r = fcgi.request(tfpm.sock, CONCURRENCY, query=f"id={rid}&sleep_ms=0", timeout=30 * SLOW)
            if r.status != 200 or json.loads(r.body)["id"] != rid:
                errors.append((rid, r))
            else:
                with lock:
                    full_ok[0] += 1

    def worker():
        while True:
            i = next_index()
            if i is None:
                return
            try:
                one(i)
            except OSError as e:  # the server may close a half request first
                if i % 6 >= 4:
                    errors.append((i, repr(e)))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120 * SLOW)
    assert not any(t.is_alive() for t in threads), "client threads hung"
    assert not errors, errors[:5]
    assert full_ok[0] == sum(1 for i in range(total) if i % 6 >= 4)
    assert tfpm.alive()
    # Every PHP thread is free again and a final request works.
    wait_until(lambda: tfpm.status()["pools"][0]["busy_threads"] == 0, 20 * SLOW,
               what="all threads idle")
    r = fcgi.request(tfpm.sock, ECHO, query="final=1")
    assert r.status == 200 and b'"final":"1"' in r.body
    assert_clean_log(tfpm)
    # No worker died and was replaced along the way.
    assert "exited on signal" not in tfpm.log_text()


def test_registries_consistent_under_concurrency(tfpm_factory):
    """pm-ctl status --json while requests run: every answer well-formed,
    per-thread request counters monotonic, and their sum equals the number
    of requests served once the load stops."""
    tfpm = tfpm_factory(processes=2, threads=4)
    n_requests = scaled(400, 120)
    served = [0]
    lock = threading.Lock()
    done = threading.Event()
    statuses = []
    problems = []

    def load(i):
        r = fcgi.request(tfpm.sock, CONCURRENCY, query=f"id={i}&sleep_ms={i % 3}", timeout=60 * SLOW)
        assert r.status == 200 and json.loads(r.body)["id"] == str(i), r
        with lock:
            served[0] += 1

    def poll_status():
        deadline = time.monotonic() + 120 * SLOW
        while not done.is_set() and time.monotonic() < deadline and len(statuses) < 2000:
            out = subprocess.run([str(PM_CTL), "--socket", tfpm.ctl_sock, "status", "--json"],
                                 capture_output=True, text=True, timeout=20 * SLOW)
            if out.returncode != 0:
                problems.append(f"pm-ctl failed: {out.returncode} {out.stderr}")
                continue
            try:
                statuses.append(json.loads(out.stdout))
            except ValueError as e:
                problems.append(f"bad JSON: {e}: {out.stdout[:200]}")

    # The load runs until it has sent n_requests AND the poller has three
    # samples taken while it ran: a sanitizer build's pm-ctl can start slower
    # than the requests finish (CI's TSan run once got two).
    issued = [0]
    min_samples = 3

    def client():
        deadline = time.monotonic() + 120 * SLOW
        while time.monotonic() < deadline:
            with lock:
                if issued[0] >= n_requests and len(statuses) >= min_samples:
                    return
                i = issued[0]
                issued[0] += 1
            load(i)

    poller = threading.Thread(target=poll_status, daemon=True)
    poller.start()
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        for f in [pool.submit(client) for _ in range(12)]:
            f.result()
    n_requests = issued[0]
    wait_until(lambda: tfpm.served() == n_requests, 10 * SLOW,
               what=f"scoreboard total to reach {n_requests}")
    done.set()
    poller.join(60 * SLOW)
    assert not problems, problems[:5]
    assert len(statuses) >= min_samples, "too few status samples"
    statuses.append(tfpm.status())

    last = {}
    for st in statuses:
        assert st["ok"] is True and st["pid"] == tfpm.pid
        assert isinstance(st["pools"], list) and len(st["pools"]) == 1
        pool = st["pools"][0]
        assert pool["name"] == "www"
        procs = pool["processes"]
        assert len(procs) == 2
        thread_sum = busy = idle = 0
        for p in procs:
            assert p["state"] == "ready"
            assert len(p["threads"]) == 4
            assert sorted(t["index"] for t in p["threads"]) == [0, 1, 2, 3]
            for t in p["threads"]:
                assert isinstance(t["requests"], int) and t["requests"] >= 0
                assert t["state"] in ("Idle", "Running"), t
                if t["state"] == "Running":
                    busy += 1
                    assert t["script"] == CONCURRENCY, t
                    assert t["method"] == "GET"
                    # Slightly negative values are a known tfpm bug, pinned by
                    # test_process.py::test_status_running_duration_never_negative.
                    assert t["duration_ms"] > -10, t
                else:
                    idle += 1
                key = (p["pid"], t["index"])
                assert t["requests"] >= last.get(key, 0), f"counter of {key} went backwards"
                last[key] = t["requests"]
                thread_sum += t["requests"]
        assert pool["requests"] == thread_sum
        assert pool["busy_threads"] == busy and pool["idle_threads"] == idle
        assert busy + idle == 8
        assert 0 <= thread_sum <= n_requests
    assert thread_sum == n_requests == served[0]
    assert_clean_log(tfpm)


def test_getallheaders_copies_request_memory(tfpm_factory):
    """getallheaders() must copy the headers into the request's own memory:
    the script keeps the array, does allocation-heavy work (while other
    threads run other requests) and then prints it; each response must echo
    exactly its own headers."""
    tfpm = tfpm_factory(processes=1, threads=8)
    script = php_fixture("big_headers")
    per_client = scaled(12, 4)
    clients = 16
    failures = []

    def client(c):
        rnd = random.Random(c)
        for k in range(per_client):
            tag = f"c{c}k{k}"
            headers = {f"X-Big-{j}": tag + "-" + "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                                                          for _ in range(rnd.randint(1000, 9000)))
                       for j in range(rnd.randint(2, 6))}
            headers["X-Tag"] = tag
            r = fcgi.request(tfpm.sock, script, headers=headers, timeout=60 * SLOW)
            if r.status != 200:
                failures.append((tag, r.status, r.stderr[:200]))
                continue
            data = json.loads(r.body)
            got = {k: v for k, v in data["headers"].items() if k.startswith("X-")}
            if got != headers or data["same_again"] is not True:
                failures.append((tag, "headers differ"))

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    assert not failures, failures[:5]
    assert_clean_log(tfpm)


def test_fiber_output_with_timer_armed(tfpm_factory):
    """Fibers switching stacks while each thread's max_execution_time timer
    is armed: 4 concurrent Fiber requests produce exactly their output, and
    a Fiber busy-looping past set_time_limit(1) is stopped with PHP's
    "Maximum execution time" error without disturbing the other threads."""
    tfpm = tfpm_factory(processes=1, threads=6, ini={"max_execution_time": "5"})
    script = php_fixture("fiber")
    lines = scaled(300, 100)

    def expected(fid):
        out = "".join(f"fiber {fid} line {i} {'.' * (i % 50)}\n" for i in range(lines))
        return out + f"fiber {fid} finished after {lines} resumes: done\n"

    def fiber_request(fid):
        return fid, fcgi.request(tfpm.sock, script, query=f"id={fid}&lines={lines}", timeout=60 * SLOW)

    def busy_request():
        return fcgi.request(tfpm.sock, script, query="busy=1", timeout=60 * SLOW)

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        busy = pool.submit(busy_request)
        rounds = [pool.submit(fiber_request, f"r{i}") for i in range(4)]
        first = [f.result() for f in rounds]
        # More fiber requests while the busy one may still be spinning.
        more = [pool.submit(fiber_request, f"s{i}") for i in range(4)]
        second = [f.result() for f in more]
        b = busy.result()

    for fid, r in first + second:
        assert r.status == 200, (fid, r, r.stderr)
        assert r.body.decode() == expected(fid), fid
        assert r.stderr == b""
    assert b.status == 500, (b, b.stderr)
    assert b"Maximum execution time of 1 second exceeded" in b.stderr
    assert b"unreachable" not in b.body
    # The thread that hit the limit serves again.
    for i in range(6):
        fid, r = fiber_request(f"after{i}")
        assert r.status == 200 and r.body.decode() == expected(fid)
    assert_clean_log(tfpm)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_and_sigint_under_load_exit_cleanly(tfpm_factory, sig):
    """A fast stop in the middle of concurrent requests: the supervisor exits
    0 promptly, nothing crashes, no worker survives."""
    tfpm = tfpm_factory(processes=2, threads=4)
    stop = threading.Event()
    completed = [0]
    lock = threading.Lock()

    def load(c):
        k = 0
        deadline = time.monotonic() + 60 * SLOW
        while not stop.is_set() and time.monotonic() < deadline and k < 2000:
            k += 1
            try:
                r = fcgi.request(tfpm.sock, CONCURRENCY, query=f"id={c}-{k}&sleep_ms={k % 20}",
                                 timeout=10 * SLOW)
                if r.status == 200:
                    with lock:
                        completed[0] += 1
            except OSError:
                pass  # connections cut by the stop

    threads = [threading.Thread(target=load, args=(c,), daemon=True) for c in range(12)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: completed[0] >= scaled(100, 20), 30 * SLOW, what="load to get going")
        workers = tfpm.worker_pids()
        assert len(workers) == 2
        tfpm.send_signal(sig)
        rc = tfpm.wait_exit(5 * SLOW)
        assert rc is not None, f"tfpm did not exit within {5 * SLOW}s of {sig.name}"
        assert rc == 0, f"exit code {rc}"
    finally:
        stop.set()
        for t in threads:
            t.join(30 * SLOW)
    wait_until(lambda: not tfpm.worker_pids(), 5 * SLOW, what="workers to exit")
    log = tfpm.log_text()
    assert f"{sig.name}: fast stop" in log
    assert_clean_log(tfpm)
    assert not os.path.exists(tfpm.sock), "listen socket left behind"
