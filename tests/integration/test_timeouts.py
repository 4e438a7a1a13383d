"""Per-thread timeouts: request_terminate_timeout ends only the offending
request (PHP loop, sleep(), a silent socket, a Fiber; classic and worker
mode), the slowlog captures PHP backtraces without ptrace."""
import json
import threading
import time

import pytest

import fcgi
from helpers import SANITIZER, SLOW, php_fixture, wait_until

HANG = php_fixture("hang")
WORKER_HANG = php_fixture("worker", "hang.php")

# TSan cannot follow PHP's bailout longjmp off a Fiber's stack (see
# docs/architecture.md); the Fiber case runs in the other builds.
KINDS = ["busy", "sleep", "socket"] + ([] if SANITIZER == "thread" else ["fiber"])


def hang(tfpm, how, results, timeout=30):
    t0 = time.monotonic()
    r = fcgi.request(tfpm.sock, HANG, query=f"how={how}", timeout=timeout * SLOW)
    results[how] = (r, time.monotonic() - t0)


@pytest.mark.sanitize
def test_hung_requests_are_ended_at_their_deadline_and_others_are_untouched(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=8, request_terminate_timeout="2s")
    results = {}
    hung = [threading.Thread(target=hang, args=(tfpm, how, results)) for how in KINDS]
    for t in hung:
        t.start()
    # Normal traffic on the other threads meanwhile: no error, every body right.
    normal, errors = 0, []
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        r = fcgi.request(tfpm.sock, HANG, query="how=ok")
        normal += 1
        if r.status != 200 or r.body != b"start ok\nok\nend ok\n":
            errors.append(r)
    for t in hung:
        t.join(30 * SLOW)
    assert not errors, errors[:5]
    assert normal > 10
    for how in KINDS:
        r, took = results[how]
        assert r.status == 504, (how, r)
        assert b"504 Gateway Timeout" in r.body, (how, r.body)
        assert b"request_terminate_timeout" in r.stderr, (how, r.stderr)
        # Killed at its deadline (2 s), within 0.5 s (more in sanitizer builds).
        assert 1.9 <= took <= 2.5 + (1.5 if SANITIZER else 0), (how, took)
    # Every thread serves again, in the same process.
    pids = tfpm.worker_pids()
    bodies = [fcgi.request(tfpm.sock, HANG, query="how=ok").body for _ in range(16)]
    assert all(b == b"start ok\nok\nend ok\n" for b in bodies)
    assert tfpm.worker_pids() == pids
    pool = tfpm.status()["pools"][0]
    assert pool["terminated_requests"] == len(KINDS)
    log = tfpm.log_text()
    assert log.count("exceeded request_terminate_timeout") == len(KINDS)
    assert "stuck" not in log


def test_slowlog_records_php_backtraces_without_ptrace(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=4, request_slowlog_timeout="1s",
                        slowlog="{dir}/slow.log", request_terminate_timeout="3s")
    results = {}
    threads = [threading.Thread(target=hang, args=(tfpm, how, results)) for how in ("busy", "sleep", "fiber")]
    for t in threads:
        t.start()
    slow = tfpm.dir / "slow.log"
    wait_until(lambda: slow.exists() and slow.read_text().count("request_uri") >= 3, 10 * SLOW,
               what="three slowlog entries")
    # The workers are not traced by anyone (no ptrace involved).
    for pid in tfpm.worker_pids():
        status = open(f"/proc/{pid}/status").read()
        assert "TracerPid:\t0" in status
    for t in threads:
        t.join(30 * SLOW)
    text = slow.read_text()
    entries = {e.split("request_uri = ")[1].split("\n")[0]: e for e in text.split("\n\n") if "request_uri" in e}
    busy = entries["/index.php?how=busy"]
    assert f"script_filename = {HANG}" in busy
    assert f"spin() {HANG}:9" in busy and f"{{main}} {HANG}" in busy
    sleep = entries["/index.php?how=sleep"]
    assert "sleep()" in sleep and f"nap() {HANG}:13" in sleep
    fiber = entries["/index.php?how=fiber"]
    assert f"spin() {HANG}:9" in fiber and "Fiber::start()" in fiber
    assert "[pool www] pid " in busy and " thread " in busy
    # Being in the slowlog does not change the request: sleep() was not cut
    # short by the backtrace (it ran until request_terminate_timeout).
    assert results["sleep"][1] >= 2.9
    assert tfpm.status()["pools"][0]["slow_requests"] == 3


def test_time_after_fastcgi_finish_request_is_not_tracked_by_default(tfpm_factory):
    tail = php_fixture("finish_tail")
    tfpm = tfpm_factory(processes=1, threads=2, request_terminate_timeout="1s")
    r = fcgi.request(tfpm.sock, tail, query="id=x&tail=1.6")
    assert r.status == 200
    time.sleep(1.0)
    wait_until(lambda: tfpm.status()["pools"][0]["busy_threads"] == 0, 5 * SLOW, what="the tail to end")
    assert tfpm.status()["pools"][0]["terminated_requests"] == 0
    assert "exceeded request_terminate_timeout" not in tfpm.log_text()


def test_tracked_after_fastcgi_finish_request_when_asked(tfpm_factory):
    tail = php_fixture("finish_tail")
    tfpm = tfpm_factory(processes=1, threads=2, request_terminate_timeout="1s",
                        request_terminate_timeout_track_finished=True)
    r = fcgi.request(tfpm.sock, tail, query="id=x&tail=30")
    assert r.status == 200  # the answer was already complete
    wait_until(lambda: tfpm.status()["pools"][0]["terminated_requests"] == 1, 5 * SLOW,
               what="the tail to be terminated")
    wait_until(lambda: tfpm.status()["pools"][0]["busy_threads"] == 0, 5 * SLOW, what="the thread to return")


@pytest.mark.sanitize
@pytest.mark.parametrize("how", ["busy", "sleep"])
def test_worker_mode_request_is_terminated_and_the_script_restarts(tfpm_factory, how):
    tfpm = tfpm_factory(processes=1, threads=1, mode="worker", worker={"script": WORKER_HANG},
                        request_terminate_timeout="1s")
    first = fcgi.request(tfpm.sock, WORKER_HANG)
    boot = first.body.split()[0]
    t0 = time.monotonic()
    r = fcgi.request(tfpm.sock, WORKER_HANG, query=f"how={how}", timeout=30 * SLOW)
    took = time.monotonic() - t0
    assert r.status == 504, r
    assert took < 2.5 + (1.5 if SANITIZER else 0)
    after = fcgi.request(tfpm.sock, WORKER_HANG)
    assert after.status == 200 and after.body.split()[0] != boot


def stalled_body_request(sock_path, script, content_type, sent, total):
    """Sends the params and `sent` of `total` body bytes, then stalls (the
    socket stays open). Returns the socket."""
    s = fcgi.connect(sock_path, timeout=30 * SLOW)
    params = {"REQUEST_METHOD": "POST", "SCRIPT_FILENAME": script, "SCRIPT_NAME": "/index.php",
              "REQUEST_URI": "/index.php", "QUERY_STRING": "", "CONTENT_TYPE": content_type,
              "CONTENT_LENGTH": str(total), "SERVER_PROTOCOL": "HTTP/1.1"}
    import struct
    data = fcgi.record(fcgi.BEGIN_REQUEST, 1, struct.pack(">HB5x", fcgi.RESPONDER, 0))
    data += fcgi.stream(fcgi.PARAMS, 1, b"".join(fcgi.encode_pair(k, v) for k, v in params.items()))
    data += fcgi.record(fcgi.STDIN, 1, sent)
    s.sendall(data)
    return s


@pytest.mark.sanitize
@pytest.mark.parametrize("case", ["form", "php_input"])
def test_max_input_time_answers_408_for_a_stalled_body(tfpm_factory, case):
    tfpm = tfpm_factory(processes=1, threads=1, php_value={"max_input_time": "1"})
    script = php_fixture("post") if case == "form" else php_fixture("hash_input")
    ctype = "application/x-www-form-urlencoded" if case == "form" else "application/octet-stream"
    t0 = time.monotonic()
    s = stalled_body_request(tfpm.sock, script, ctype, b"a=1&b=", 1000)
    try:
        r = fcgi.read_response(s)
    finally:
        s.close()
    took = time.monotonic() - t0
    assert r.status == 408, r
    assert b"max_input_time" in r.stderr
    assert 0.9 <= took <= 2.0 + (1.5 if SANITIZER else 0), took
    ok = fcgi.request(tfpm.sock, php_fixture("post"), method="POST", body=b"a=1",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert ok.status == 200 and json.loads(ok.body)["post"] == {"a": "1"}
    assert "max_input_time (1 s) passed" in tfpm.log_text()


def test_request_terminate_timeout_frees_a_thread_waiting_for_its_own_body(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1, request_terminate_timeout="1s",
                        php_value={"max_input_time": "-1"})
    t0 = time.monotonic()
    s = stalled_body_request(tfpm.sock, php_fixture("hash_input"), "application/octet-stream", b"x" * 10, 1000)
    try:
        r = fcgi.read_response(s)
    finally:
        s.close()
    assert r.status == 504, r
    assert time.monotonic() - t0 < 2.0 + (1.5 if SANITIZER else 0)
    assert fcgi.request(tfpm.sock, HANG, query="how=ok").status == 200


@pytest.mark.sanitize
def test_max_wait_time_answers_503_when_no_thread_frees_up(tfpm_factory):
    sleep = php_fixture("sleep")
    tfpm = tfpm_factory(processes=1, threads=1, max_wait_time="500ms")
    kept = fcgi.connect(tfpm.sock)
    try:
        # A kept connection, parked between requests.
        assert fcgi.request(tfpm.sock, HANG, query="how=ok", sock=kept, keep_conn=True).status == 200
        results = {}
        busy = threading.Thread(target=lambda: results.update(
            slow=fcgi.request(tfpm.sock, sleep, query="ms=3000", timeout=30 * SLOW)))
        busy.start()
        wait_until(lambda: tfpm.status()["pools"][0]["busy_threads"] == 1, 5 * SLOW, what="the thread busy")
        t0 = time.monotonic()
        fresh = fcgi.request(tfpm.sock, HANG, query="how=ok")      # waits in the backlog
        t_fresh = time.monotonic() - t0
        t0 = time.monotonic()
        again = fcgi.request(tfpm.sock, HANG, query="how=ok", sock=kept, keep_conn=True)  # on the kept one
        t_kept = time.monotonic() - t0
        busy.join(30 * SLOW)
    finally:
        kept.close()
    for r, took in ((fresh, t_fresh), (again, t_kept)):
        assert r.status == 503, r
        assert b"max_wait_time" in r.stderr
        assert 0.45 <= took <= 1.0 + (1.0 if SANITIZER else 0), took
    assert results["slow"].status == 200  # the busy request itself is untouched
    assert tfpm.status()["pools"][0]["max_wait_rejected"] == 2
    # With a free thread nothing is rejected.
    assert all(fcgi.request(tfpm.sock, HANG, query="how=ok").status == 200 for _ in range(20))


@pytest.mark.sanitize
def test_max_execution_time_per_thread_8_threads_different_limits(tfpm_factory):
    """Eight requests busy-loop at once, each with its own set_time_limit():
    each ends at its own limit, whatever the others do."""
    tfpm = tfpm_factory(processes=1, threads=8)
    limits = [1, 2, 3, 4, 1, 2, 3, 4]
    results = {}

    def run(i, limit):
        t0 = time.monotonic()
        r = fcgi.request(tfpm.sock, HANG, query=f"how=busy&limit={limit}&i={i}", timeout=30 * SLOW)
        results[i] = (r, time.monotonic() - t0)

    threads = [threading.Thread(target=run, args=(i, lim)) for i, lim in enumerate(limits)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30 * SLOW)
    for i, limit in enumerate(limits):
        r, took = results[i]
        assert r.status == 500, (limit, r)
        assert f"Maximum execution time of {limit} second".encode() in r.stderr, (limit, r.stderr)
        assert limit - 0.1 <= took <= limit + 0.6 + (1.5 if SANITIZER else 0), (limit, took)


def test_a_thread_that_cannot_come_back_gets_its_process_replaced(tfpm_factory):
    """proc_close() retries waitpid() after EINTR: the terminated request
    cannot be brought back. After the grace period the process stops
    accepting, lets its other requests finish and exits; a new process
    serves; no other request fails."""
    sleep = php_fixture("sleep")
    tfpm = tfpm_factory(processes=1, threads=2, request_terminate_timeout="1s")
    first_pid = tfpm.worker_pids()
    results = {}
    stuck = threading.Thread(target=lambda: results.update(
        stuck=_try(lambda: fcgi.request(tfpm.sock, HANG, query="how=child&s=8", timeout=30 * SLOW))))
    stuck.start()
    # Another request on the same process (shorter than the 1 s limit),
    # still running when the grace period ends (1 s + 2 s after the stuck
    # one started): it must finish normally.
    time.sleep(2.5)
    other = threading.Thread(target=lambda: results.update(
        other=fcgi.request(tfpm.sock, sleep, query="ms=900", timeout=30 * SLOW)))
    other.start()
    wait_until(lambda: "stuck thread" in tfpm.log_text(), 15 * SLOW, what="the process to give up on the thread")
    other.join(30 * SLOW)
    assert results["other"].status == 200 and results["other"].body == b"slept 900 ms\n"
    wait_until(lambda: tfpm.worker_pids() and tfpm.worker_pids() != first_pid, 10 * SLOW,
               what="a replacement process")
    # Counted as a process restart of cause timeout, and as nothing else
    # (docs/metrics.md tfpm_process_restarts_*).
    restarts = tfpm.status()["pools"][0]["restarts"]["processes"]
    assert restarts["timeout"] == 1 and sum(restarts.values()) == 1, restarts
    r = fcgi.request(tfpm.sock, HANG, query="how=ok")
    assert r.status == 200
    stuck.join(30 * SLOW)
    # The stuck request's client lost its connection with the process.
    assert isinstance(results["stuck"], Exception) or results["stuck"].status in (504, 200), results["stuck"]
    log = tfpm.log_text()
    assert "has not come back" in log and "exiting with 1 stuck thread" in log
    time.sleep(6)  # let PHP's `sleep` child end before the teardown counts processes


def _try(fn):
    try:
        return fn()
    except Exception as e:  # the connection dies with the stuck process
        return e
