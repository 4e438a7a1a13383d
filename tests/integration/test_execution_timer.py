"""One Zend max-execution timer per live PHP thread (classic and worker
mode), kept across requests, interpreter recycling (max_requests) and
thread retirement: the POSIX timers of a worker process, read from
/proc/PID/timers (one "signal: 34/..." entry per timer, SIGRTMIN)."""
import concurrent.futures
import re
import shutil

import fcgi
import pytest
from helpers import SLOW, php_fixture, syscalls_during, wait_until

ECHO = php_fixture("echo")
SLEEP = php_fixture("sleep")
pytestmark = pytest.mark.sanitize


def worker_pids(t):
    return [p["pid"] for pool in t.status()["pools"] for p in pool["processes"]]


def timers(pid):
    """The process's POSIX timers that signal a thread (SIGEV_THREAD_ID)."""
    text = open(f"/proc/{pid}/timers").read()
    return len(re.findall(r"^notify: signal/tid\.", text, re.M))


def test_one_timer_per_thread_across_requests(tfpm_factory):
    t = tfpm_factory(processes=1, threads=4, ini={"max_execution_time": "30"})
    (pid,) = worker_pids(t)
    assert timers(pid) == 4
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        assert all(r.status == 200 for r in ex.map(lambda _: fcgi.request(t.sock, ECHO), range(200)))
    # Each thread served requests; its timer is still the one it started with:
    # PHP would have deleted it at every request's end.
    assert timers(pid) == 4


def test_the_timer_still_ends_a_long_request(tfpm_factory):
    t = tfpm_factory(processes=1, threads=2, ini={"max_execution_time": "1"})
    for _ in range(3):
        fcgi.request(t.sock, ECHO)
    r = fcgi.request(t.sock, php_fixture("hang"), query="how=busy", timeout=30 * SLOW)
    assert b"Maximum execution time of 1 second exceeded" in r.raw + r.stderr, r
    (pid,) = worker_pids(t)
    assert timers(pid) == 2
    assert fcgi.request(t.sock, ECHO).status == 200


def test_recycled_interpreters_keep_one_timer_each(tfpm_factory):
    t = tfpm_factory(processes=1, threads=2, max_requests=5)
    (pid,) = worker_pids(t)
    for _ in range(40):
        assert fcgi.request(t.sock, ECHO).status == 200
    # 40 requests on 2 threads recycle each interpreter several times; a
    # timer that survived its interpreter would add up here.
    wait_until(lambda: timers(pid) == 2, 10 * SLOW, what=f"2 timers (have {timers(pid)})")


def test_retired_threads_take_their_timer(tfpm_factory):
    t = tfpm_factory(processes=1, threads=4, pm="ondemand", idle_timeout="1s")
    (pid,) = worker_pids(t)
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        list(ex.map(lambda _: fcgi.request(t.sock, SLEEP, query="ms=300"), range(4)))
    assert timers(pid) >= 1
    # Idle threads exit after idle_timeout; none leaves a timer behind.
    wait_until(lambda: timers(pid) == 0, 20 * SLOW, what=f"no timer once the threads retired ({timers(pid)})")


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_a_request_asks_the_kernel_nothing_about_its_timer_but_to_arm_it(tfpm_factory):
    # Per request stock PHP would create and delete the thread's timer and
    # call getpid() at executor start and end to tell its timer from one
    # inherited across fork(); with the kept timer and the cached pid
    # (tools/lib/php-patches/zts/0003-timer-pid.patch) what is left is
    # the one getpid() of Zend's heap shutdown, as in php-fpm.
    t = tfpm_factory(processes=1, threads=2, ini={"max_execution_time": "30"})
    (pid,) = worker_pids(t)
    requests = 100

    def load():
        for _ in range(requests):
            assert fcgi.request(t.sock, ECHO).status == 200

    counts, summary = syscalls_during(pid, ("timer_create", "timer_delete", "timer_settime", "getpid"), load)
    assert counts["timer_create"] == 0, summary
    assert counts["timer_delete"] == 0, summary
    assert counts["timer_settime"] >= requests, summary  # armed and disarmed: the timer is in use
    assert counts["getpid"] <= requests + 10, summary
