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
import time

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


class _Halting:
    """A socket whose sendall() sends the first `cut` bytes, then the rest
    only after `pause` seconds (never, if pause is None)."""

    def __init__(self, sock, cut, pause):
        self.sock, self.cut, self.pause = sock, cut, pause

    def sendall(self, data):
        self.sock.sendall(data[:self.cut])
        if self.pause is None:
            return
        time.sleep(self.pause)
        self.sock.sendall(data[self.cut:])

    def __getattr__(self, name):
        return getattr(self.sock, name)


@pytest.mark.sanitize
def test_half_a_request_during_the_linger_is_parked_not_held(tfpm_factory):
    # The client's next request arrives only in part while the thread
    # lingers: the thread takes it, finds it incomplete and parks the
    # connection, as for any half request. It is served when the rest
    # comes; one whose rest never comes holds no thread (another
    # connection is served meanwhile) and ends at request_header_timeout.
    tfpm = tfpm_factory(processes=1, threads=1, request_header_timeout="1s")
    a = fcgi.connect(tfpm.sock)
    try:
        assert fcgi.request(tfpm.sock, FIXTURE, keep_conn=True, sock=a).status == 200
        r = fcgi.request(tfpm.sock, FIXTURE, keep_conn=True, sock=_Halting(a, 20, 0.2))
        assert r.status == 200 and r.body.startswith(b"started "), r
        assert fcgi.request(tfpm.sock, FIXTURE, keep_conn=True, sock=a).status == 200
        # Now half a request and nothing more.
        a.sendall(fcgi.build_request({"SCRIPT_FILENAME": FIXTURE}, keep_conn=True)[:20])
        r = fcgi.request(tfpm.sock, FIXTURE)  # another connection, same single thread
        assert r.status == 200 and r.body.startswith(b"started "), r
        a.settimeout(10 * SLOW)
        assert a.recv(65536) == b"", "half a request kept past request_header_timeout"
    finally:
        a.close()
