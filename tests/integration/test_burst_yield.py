"""A PHP thread that serves requests back to back gives up the CPU between
two of them (worker/burst_yield.h): once it has been running for 100 µs
without waiting for work, it calls sched_yield(2) before it takes the next
request, holding none, so the kernel's time slice does not end in the
middle of one.

The mechanism, not its effect on latency: strace counts the worker's
sched_yield calls while one thread serves requests that keep it busy for a
millisecond each, queued by several clients at once. Nothing else in the
worker or in PHP calls sched_yield, so the old code counts 0. That a
thread which sleeps between requests does not yield is the unit test's
(tests/unit/worker/burst_yield_test.cc): under strace every system call
stops the thread, so no request here is short.
"""
import shutil
import threading

import fcgi
import pytest
from helpers import php_fixture, syscalls_during

FIXTURE = php_fixture("busy")

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")


def yields_during(pid, load):
    """sched_yield calls of every thread of `pid` while load() runs."""
    counts, summary = syscalls_during(pid, ("sched_yield",), load)
    return counts["sched_yield"], summary


def test_a_thread_busy_back_to_back_yields_between_requests(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1)
    [pid] = tfpm.worker_pids()
    per_client, clients = 20, 3
    failures = []

    def client():
        for _ in range(per_client):
            r = fcgi.request(tfpm.sock, FIXTURE, query="us=2000")
            if r.status != 200 or not r.body.startswith(b"busy "):
                failures.append(r)

    def load():
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    count, summary = yields_during(pid, load)
    assert not failures, failures[:3]
    # Each 2 ms request leaves the thread past its 100 µs burst: it yields
    # before the next one (or before it waits, when none is queued).
    assert count >= per_client * clients // 2, summary
