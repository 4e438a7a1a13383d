"""Pools whose workers cannot stay up (docs/architecture.md "Pools whose
workers cannot stay up"): the php.ini line that crashed every worker, a
first generation that crash-loops, a reload whose workers crash after they
are ready, and a pool that starts crash-looping later (failed: the
supervisor answers 503, then it recovers by itself).

tests/php/crashloop/worker.php kills its process (SIGKILL: no sanitizer
turns it into a report) about 50 ms after it boots, i.e. right after the process reported ready, while the
file named by the pool's TFPM_TEST_CRASH_FLAG exists."""
import os
import re
import signal
import socket
import time

import pytest

import fcgi
from helpers import SLOW, php_fixture, wait_until
from test_operations import NotifySocket

CRASHER = php_fixture("crashloop", "worker.php")
CLASSIC = php_fixture("crashloop", "index.php")
DEPRECATED_INI = php_fixture("crashloop", "deprecated.ini")


def crasher_pool(flag, processes=1, threads=2, **extra):
    pool = {"mode": "worker", "worker": {"script": CRASHER}, "processes": processes, "threads": threads,
            "env": {"TFPM_TEST_CRASH_FLAG": str(flag)}}
    pool.update(extra)
    return pool


def pool_pids(tfpm, pool="www"):
    st = tfpm.status()
    return sorted(p["pid"] for p in st["pools"] if p["name"] == pool for p in p["processes"])


@pytest.mark.sanitize
def test_startup_deprecation_in_php_ini_does_not_crash_workers(tfpm_factory):
    """Regression: with log_errors on, a setting PHP 8.4 reports as deprecated
    at startup (session.sid_length) is reported again on every new PHP thread,
    inside ts_resource(), through our log_message, before our TSRM cache was
    set: every worker died on SIGSEGV right after it started."""
    tfpm = tfpm_factory(ini_file=DEPRECATED_INI, processes=2, threads=4)
    pids = pool_pids(tfpm)
    for i in range(40):
        r = fcgi.request(tfpm.sock, CLASSIC, query=f"i={i}")
        assert r.status == 200 and r.body.startswith(b"classic "), r
    log = tfpm.log_text()
    # Reported once for the pool: by the first process's MINIT; not again by
    # the second process, nor by any new thread (each used to repeat it,
    # 2 x (1 + 4) lines here). The pool's threads all started: the daemon
    # was ready.
    seen = len(re.findall(r"PHP message: PHP Deprecated: .*session.sid_length INI setting is deprecated", log))
    assert seen == 1, log
    assert pool_pids(tfpm) == pids, "a worker was replaced:\n" + log
    assert "exited on signal" not in log, log


@pytest.mark.sanitize
def test_startup_deprecation_with_max_requests_recycling(tfpm_factory):
    """The same on interpreters recycled by max_requests (ts_free_thread,
    then ts_resource again on the same thread)."""
    tfpm = tfpm_factory(ini_file=DEPRECATED_INI, processes=1, threads=2, max_requests=3)
    pids = pool_pids(tfpm)
    for i in range(30):
        assert fcgi.request(tfpm.sock, CLASSIC, query=f"i={i}").status == 200
    log = tfpm.log_text()
    # 30 requests over 2 threads, a new interpreter every 3: at least 8
    # recycles, none of which repeats MINIT's line (each used to).
    seen = log.count("session.sid_length INI setting is deprecated")
    assert seen == 1, log
    assert pool_pids(tfpm) == pids and "exited on signal" not in log, log


@pytest.mark.sanitize
def test_first_generation_that_crashes_after_ready_fails_the_start(tfpm_factory):
    flag = "/"  # always exists: every worker crashes right after it is ready
    tfpm = tfpm_factory(wait_ready=False, startup_probation="1s", **crasher_pool(flag, processes=2))
    code = tfpm.wait_exit(30 * SLOW)
    log = tfpm.log_text()
    assert code == 1, "tfpm did not fail its start:\n" + log
    assert re.search(r"child \d+ exited on signal 9 \(SIGKILL\) [\d.]+ s after it was ready "
                     r"\(startup_probation 1000 ms\)", log), log
    # No restart loop: only the first generation was ever started.
    assert len(re.findall(r"child \d+ started", log)) == 2, log
    assert "ready to handle connections" not in log, log


@pytest.mark.sanitize
def test_reload_whose_workers_crash_after_ready_is_rolled_back(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=2, startup_probation="1s")
    pids = pool_pids(tfpm)
    tfpm.config["pools"]["www"].update(crasher_pool("/", processes=2))
    tfpm.write_config()
    r = tfpm.ctl("reload", check=False, timeout=60 * SLOW)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "reload failed" in r.stderr and "after it was ready" in r.stderr, r.stderr
    assert "rolled back; the previous generation keeps serving" in tfpm.log_text()
    assert pool_pids(tfpm) == pids and tfpm.status()["generation"] == 1
    for i in range(10):
        r = fcgi.request(tfpm.sock, CLASSIC, query=f"i={i}")
        assert r.status == 200 and r.body.startswith(b"classic"), r
    wait_until(lambda: sorted(tfpm.worker_pids()) == pids, 10 * SLOW, what="the crashed new workers to be gone")


def answer_or_reset(sock_path, timeout):
    """One request; its Response, or None if the connection was closed
    under it (a retried worker took it and crashed). Raises on a hang."""
    try:
        return fcgi.request(sock_path, CLASSIC, timeout=timeout)
    except (ConnectionError, OSError) as e:
        if isinstance(e, socket.timeout):
            raise AssertionError(f"no answer within {timeout} s: the request hangs")
        return None


@pytest.mark.sanitize
def test_pool_that_crash_loops_later_is_failed_answers_503_and_recovers(tfpm_factory):
    notify = NotifySocket()
    try:
        _failed_pool_scenario(tfpm_factory, notify)
    finally:
        notify.close()


def _failed_pool_scenario(tfpm_factory, notify):
    flag = "{dir}/crash"
    tfpm = tfpm_factory(**crasher_pool(flag, processes=1, threads=2, failure_threshold=3, failure_window="2s"),
                        process_env={"NOTIFY_SOCKET": notify.path})
    flag_path = tfpm.dir / "crash"
    # Past startup_probation (wait_ready waits for it): from now on a crash
    # is the pool's, not a failed start.
    assert tfpm.status()["ready"] and "ready to handle connections" in tfpm.log_text()
    r = fcgi.request(tfpm.sock, CLASSIC)
    assert r.status == 200 and r.body.startswith(b"up "), r
    health = tfpm.status()["pools"][0]["health"]
    assert health["state"] == "ok" and health["failure_threshold"] == 3, health

    # From now on every new worker crashes right after it is ready.
    flag_path.write_text("")
    os.kill(pool_pids(tfpm)[0], signal.SIGKILL)
    wait_until(lambda: tfpm.status()["pools"][0]["health"]["state"] == "failed", 30 * SLOW,
               what="the pool to be marked failed\n" + tfpm.log_text())
    log = tfpm.log_text()
    assert re.search(r"\[pool www\] failed: 3 workers in a row exited less than failure_window \(2000 ms\)", log), log

    # Connections get an immediate 503 from the supervisor, never a hang. A
    # retried worker may take one and crash with it (closed, not hanging).
    answers = []
    for _ in range(20):
        started = time.monotonic()
        r = answer_or_reset(tfpm.sock, 5 * SLOW)
        assert time.monotonic() - started < 5 * SLOW
        if r is not None:
            answers.append(r)
    assert answers, "every connection was closed without an answer"
    for r in answers:
        assert r.status == 503, r
        assert b"Service Unavailable" in r.body
        assert b"pool www has failed" in r.stderr, r.stderr

    # A client that connects and sends nothing never blocks the supervisor.
    idle = fcgi.connect(tfpm.sock, timeout=10)
    try:
        started = time.monotonic()
        st = tfpm.status()
        assert time.monotonic() - started < 3 * SLOW
        r = answer_or_reset(tfpm.sock, 5 * SLOW)
        assert r is None or r.status == 503, r
    finally:
        idle.close()

    pool = st["pools"][0]
    assert pool["health"]["state"] == "failed" and pool["health"]["unavailable_answers"] >= len(answers), pool
    human = tfpm.ctl("status").stdout
    assert "FAILED for" in human and "answered 503" in human, human
    wait_until(lambda: any("pool www FAILED" in m for m in notify.texts()), 10 * SLOW,
               what="STATUS= saying the pool failed")
    assert re.search(r"\[pool www\] failed: answered \d+ connection\(s\) with 503", tfpm.log_text())

    # It keeps retrying, with a growing backoff (no spin), and stays failed.
    wait_until(lambda: re.search(r"restarting slot 0 in (800|1600) ms", tfpm.log_text()), 30 * SLOW,
               what="another retry\n" + tfpm.log_text())
    assert tfpm.status()["pools"][0]["health"]["state"] == "failed"
    r = answer_or_reset(tfpm.sock, 5 * SLOW)
    assert r is None or r.status == 503, r
    restarts = len(re.findall(r"\[pool www\] child \d+ started", tfpm.log_text()))
    assert restarts < 15, tfpm.log_text()

    # Fixed: the next retry stays up, serves, and after failure_window the
    # pool is healthy again, by itself.
    flag_path.unlink()
    def served():
        r = answer_or_reset(tfpm.sock, 5 * SLOW)
        return r is not None and r.status == 200
    wait_until(served, 60 * SLOW, interval=0.2, what="a worker to serve again\n" + tfpm.log_text())
    wait_until(lambda: tfpm.status()["pools"][0]["health"]["state"] == "ok", 10 * SLOW,
               what="the pool to recover")
    assert "[pool www] recovered" in tfpm.log_text()
    for i in range(10):
        r = fcgi.request(tfpm.sock, CLASSIC, query=f"i={i}")
        assert r.status == 200 and r.body.startswith(b"up "), r
    assert tfpm.status()["pools"][0]["health"]["times_failed"] == 1
