"""After a request, a PHP thread that finds nothing else waiting keeps its
connection up to a millisecond for the client's next request before
parking it in the shared epoll set (DispatcherOptions::linger,
worker/dispatcher.h): the next request is then taken by a ppoll(2) on the
connection, without the epoll_ctl that re-arms a parked one and without
the epoll_wait. Anything waiting in the shared set ends the linger, and
the connection goes back in line behind it.

These tests look at the mechanism (system calls, order of service), never
at its speed. strace is attached only while the load runs.
"""
import os
import shutil
import threading

import fcgi
import pytest
from helpers import SLOW, php_fixture, syscalls_during, wait_until

FIXTURE = php_fixture("linger")

needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")


def sequential(tfpm, n):
    """n requests one after the other over one kept connection."""
    s = fcgi.connect(tfpm.sock)
    try:
        for _ in range(n):
            r = fcgi.request(tfpm.sock, FIXTURE, keep_conn=True, sock=s)
            assert r.status == 200 and r.body.startswith(b"started "), r
    finally:
        s.close()


@needs_strace
def test_the_next_request_on_a_kept_connection_is_taken_without_parking(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1)
    [pid] = tfpm.worker_pids()
    sequential(tfpm, 5)  # warm: the interpreter has run the script
    n = 200
    counts, summary = syscalls_during(pid, ("ppoll", "epoll_ctl"), lambda: sequential(tfpm, n))
    # Each request after the first waits for the client in ppoll. The old
    # code parked every time: one epoll_ctl per request and no ppoll. The
    # client answers in a fraction of a millisecond, so most requests are
    # taken from the linger; a slow turn of the client parks, which is
    # allowed, but not for half of them.
    assert counts["ppoll"] >= n - 1, summary
    assert counts["epoll_ctl"] < n // 2, summary


@needs_strace
def test_many_threads_per_cpu_park_at_once(tfpm_factory):
    threads = 2 * len(os.sched_getaffinity(0)) + 1
    tfpm = tfpm_factory(processes=1, threads=threads)
    [pid] = tfpm.worker_pids()
    sequential(tfpm, 5)
    counts, summary = syscalls_during(pid, ("ppoll", "epoll_ctl"), lambda: sequential(tfpm, 50))
    assert counts["ppoll"] == 0, summary
    assert counts["epoll_ctl"] >= 50, summary


@pytest.mark.sanitize
def test_a_lingering_thread_serves_a_waiting_connection_first(tfpm_factory):
    # One thread. A's first request keeps it busy while B's request queues
    # in the shared set; A's client sends its second request the moment
    # the first is answered. B waited first, so B runs before A's second:
    # a thread that lingered on A regardless of B would serve A again.
    tfpm = tfpm_factory(processes=1, threads=1)
    sequential(tfpm, 3)
    a, b = fcgi.connect(tfpm.sock), fcgi.connect(tfpm.sock)
    try:
        for _ in range(5):
            started = {}
            busy_us = int(300_000 * SLOW)

            def run_a():
                r1 = fcgi.request(tfpm.sock, FIXTURE, query=f"us={busy_us}", keep_conn=True, sock=a)
                r2 = fcgi.request(tfpm.sock, FIXTURE, keep_conn=True, sock=a)
                started["a1"], started["a2"] = (int(r.body.split()[1]) for r in (r1, r2))

            ta = threading.Thread(target=run_a)
            ta.start()
            # B's request is in the shared set before A's first is answered.
            wait_until(lambda: busy_threads(tfpm) == 1, 10 * SLOW, interval=0.005, what="A's request to run")
            rb = fcgi.request(tfpm.sock, FIXTURE, keep_conn=True, sock=b)
            ta.join(30 * SLOW)
            started["b"] = int(rb.body.split()[1])
            assert started["a1"] < started["b"] < started["a2"], started
    finally:
        a.close()
        b.close()


def busy_threads(tfpm):
    return tfpm.status()["pools"][0]["busy_threads"]
