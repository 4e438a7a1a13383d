"""Idle memory trimming (idle_trim, docs/config.md "Idle memory trimming"):
a PHP thread that has served no request for idle_trim gives its free memory
back to the kernel once, and the next request is still answered correctly.
And busy_trim: a classic thread that keeps serving gives back the pages a
request's peak left in its Zend heap.

The mechanism, not its speed: each test reads the worker process's
resident memory (VmRSS in /proc/PID/status) right after a request that
leaves tens of MiB in the thread's Zend heap, waits for the trim to be
counted (`idle_trims` in `pm-ctl status --json`), and asserts a relative
drop. With idle_trim 0 the memory stays. Not run under a sanitizer: those
runs set USE_ZEND_ALLOC=0, so there is no Zend heap to trim. Run with -s
to see the figures.
"""
import json
import time

import pytest

import fcgi
from helpers import SLOW, php_fixture, wait_until

FIXTURE = php_fixture("idle_trim")
WORKER = php_fixture("idle_trim", "worker.php")
# 2 million strings "v0".."v1999999" in Zend's 32-byte bin: ~64 MiB of
# 2 MiB chunks at the request's peak, about half of them kept cached after
# it (zend_mm_shutdown keeps the average of the recent peaks).
BIG = 2_000_000
MiB = 1 << 20
KiB = 1 << 10


def status_bytes(pid, field):
    """A kB field of /proc/PID/status (VmRSS, RssAnon), in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


def vm_rss(pid):
    return status_bytes(pid, "VmRSS")


def pool(tfpm):
    return tfpm.status()["pools"][0]


def worker_pid(tfpm):
    procs = pool(tfpm)["processes"]
    assert len(procs) == 1, procs
    return procs[0]["pid"]


def get(tfpm, script, n):
    r = fcgi.request(tfpm.sock, script, query=f"n={n}")
    assert r.status == 200, r
    return json.loads(r.body)


def check_classic(body, n, pid):
    assert body == {"pid": pid, "count": n, "ok": n, "last": f"v{n - 1}" if n else None}, body


def test_classic_idle_thread_returns_its_heap_and_serves_the_next_request(tfpm_factory):
    # 2 s: long enough to read the RSS before the trim, short for the test.
    tfpm = tfpm_factory(processes=1, threads=1, idle_trim="2s", ini={"memory_limit": "512M"})
    pid = worker_pid(tfpm)
    check_classic(get(tfpm, FIXTURE, 10), 10, pid)
    check_classic(get(tfpm, FIXTURE, BIG), BIG, pid)
    held = vm_rss(pid)
    trims = pool(tfpm)["idle_trims"]  # 0 unless the status call above took 2 s
    wait_until(lambda: pool(tfpm)["idle_trims"] > trims, 15 * SLOW, interval=0.1,
               what="the idle thread to trim\n" + tfpm.log_text())
    trimmed = vm_rss(pid)
    print(f"\nclassic: RSS {held / MiB:.1f} MiB after the request, {trimmed / MiB:.1f} MiB after the trim")
    assert trimmed < held * 0.7, (held, trimmed)
    assert held - trimmed >= 20 * MiB, (held, trimmed)
    # Trimmed once: no more trims while no request comes.
    time.sleep(2.5)
    assert pool(tfpm)["idle_trims"] == trims + 1
    # The next requests are correct: a small one, then the big one again
    # (its pages are faulted in anew), then the thread trims again.
    check_classic(get(tfpm, FIXTURE, 3), 3, pid)
    check_classic(get(tfpm, FIXTURE, BIG), BIG, pid)
    wait_until(lambda: pool(tfpm)["idle_trims"] > trims + 1, 15 * SLOW, interval=0.1, what="the second trim")
    assert vm_rss(pid) < held * 0.7
    assert pool(tfpm)["processes"][0]["pid"] == pid  # the same process served all along
    check_classic(get(tfpm, FIXTURE, 10), 10, pid)
    text = tfpm.ctl("status").stdout
    assert f"idle trims: {trims + 2} " in text, text


# The thread's stack: a request that recursed deep in PHP's C code (the
# serializer) leaves its stack pages resident; the idle trim discards
# those below the idle wait. Request threads get a stack size no other
# mapping has, to find them in /proc/PID/smaps.
DEEP = php_fixture("idle_trim", "deep.php")
STACK_SIZE = 3 * MiB + 512 * 1024  # thread_stack_size "3584K"
DEPTH = 1500  # about 2 MiB of the stack


def thread_stack_rss(pid):
    """Resident bytes of the mappings of STACK_SIZE (glibc maps a thread's
    stack as one mapping of that size, its guard page at the bottom split
    off as its own mapping)."""
    total, size, found = 0, None, 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                size = hi - lo
            elif head[0] == "Rss:" and size is not None and STACK_SIZE - 64 * 1024 <= size <= STACK_SIZE:
                total += int(head[1]) * 1024
                found += 1
                size = None
    assert found == 1, f"{found} mappings of a request thread's stack size"
    return total


def get_deep(tfpm, depth, pid):
    r = fcgi.request(tfpm.sock, DEEP, query=f"depth={depth}")
    assert r.status == 200, r
    body = json.loads(r.body)
    assert body == {"pid": pid, "depth": depth, "length": depth * 10 + 6}, body


def test_idle_trim_discards_the_stack_a_deep_request_left(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1, idle_trim="2s", thread_stack_size="3584K")
    pid = worker_pid(tfpm)
    get_deep(tfpm, 10, pid)
    shallow = thread_stack_rss(pid)
    get_deep(tfpm, DEPTH, pid)
    held = thread_stack_rss(pid)
    trims = pool(tfpm)["idle_trims"]
    wait_until(lambda: pool(tfpm)["idle_trims"] > trims, 15 * SLOW, interval=0.1,
               what="the idle thread to trim\n" + tfpm.log_text())
    trimmed = thread_stack_rss(pid)
    print(f"\nthread stack: {shallow / KiB:.0f} KiB resident after a shallow request, "
          f"{held / KiB:.0f} after a deep one, {trimmed / KiB:.0f} once trimmed")
    assert held - shallow >= 1 * MiB, (shallow, held)
    assert trimmed <= shallow, (shallow, trimmed)
    # The thread goes on: deep again (its stack pages come back), then shallow.
    get_deep(tfpm, DEPTH, pid)
    assert thread_stack_rss(pid) >= held - 256 * KiB
    get_deep(tfpm, 10, pid)


def test_idle_trim_0_keeps_the_memory(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1, idle_trim=0, ini={"memory_limit": "512M"})
    pid = worker_pid(tfpm)
    check_classic(get(tfpm, FIXTURE, BIG), BIG, pid)
    held = vm_rss(pid)
    # Three times the default idle_trim (1 s).
    time.sleep(3)
    later = vm_rss(pid)
    print(f"\nidle_trim 0: RSS {held / MiB:.1f} MiB after the request, {later / MiB:.1f} MiB 3 s later")
    assert later > held * 0.9, (held, later)
    assert pool(tfpm)["idle_trims"] == 0
    check_classic(get(tfpm, FIXTURE, 10), 10, pid)


# busy_trim: a request that peaks inside the heap's first chunk (Zend's
# own chunk cache does not apply there: the chunk is always kept, with
# every page the peak touched): 25,000 strings, about 1.2 MiB.
SPIKE = 25_000


def rss_anon(pid):
    return status_bytes(pid, "RssAnon")


def spike_then_busy(tfpm_factory, busy_trim, seconds):
    """After a spike, small requests back to back for `seconds` (the thread
    is never idle; idle_trim is off): the worker's anonymous RSS before
    the spike, after it, and the lowest seen while busy."""
    tfpm = tfpm_factory(processes=1, threads=1, idle_trim=0, busy_trim=busy_trim)
    pid = worker_pid(tfpm)
    for _ in range(20):
        check_classic(get(tfpm, FIXTURE, 10), 10, pid)
    base = rss_anon(pid)
    check_classic(get(tfpm, FIXTURE, SPIKE), SPIKE, pid)
    held = lowest = rss_anon(pid)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        check_classic(get(tfpm, FIXTURE, 10), 10, pid)
        lowest = min(lowest, rss_anon(pid))
    print(f"\nbusy_trim {busy_trim}: anonymous RSS {base / KiB:.0f} KiB before the spike, "
          f"{held / KiB:.0f} after, {lowest / KiB:.0f} at the lowest while busy")
    assert held - base >= 800 * KiB, (base, held)  # the spike's pages are there
    return base, held, lowest, tfpm


def test_busy_thread_gives_back_the_pages_a_peak_left(tfpm_factory):
    base, held, lowest, tfpm = spike_then_busy(tfpm_factory, "1s", 4 * SLOW)
    assert lowest <= held - 600 * KiB, (base, held, lowest)
    assert pool(tfpm)["idle_trims"] == 0


def test_busy_trim_0_keeps_them(tfpm_factory):
    base, held, lowest, tfpm = spike_then_busy(tfpm_factory, 0, 3)
    assert lowest > held - 300 * KiB, (base, held, lowest)


def test_worker_mode_idle_thread_collects_garbage_and_keeps_the_apps_objects(tfpm_factory):
    tfpm = tfpm_factory(mode="worker", worker={"script": WORKER}, processes=1, threads=1, idle_trim="2s",
                        ini={"memory_limit": "512M"})
    pid = worker_pid(tfpm)
    assert get(tfpm, WORKER, 0) == {"pid": pid, "count": 0, "kept_ok": 50000, "requests": 1}
    assert get(tfpm, WORKER, BIG) == {"pid": pid, "count": BIG, "kept_ok": 50000, "requests": 2}
    held = vm_rss(pid)
    trims = pool(tfpm)["idle_trims"]
    wait_until(lambda: pool(tfpm)["idle_trims"] > trims, 15 * SLOW, interval=0.1,
               what="the idle thread to trim\n" + tfpm.log_text())
    trimmed = vm_rss(pid)
    print(f"\nworker mode: RSS {held / MiB:.1f} MiB after the request, {trimmed / MiB:.1f} MiB after the trim")
    assert trimmed < held * 0.7, (held, trimmed)
    assert held - trimmed >= 20 * MiB, (held, trimmed)
    # The same run of the script: its objects are intact.
    assert get(tfpm, WORKER, 5) == {"pid": pid, "count": 5, "kept_ok": 50000, "requests": 3}


# One huge piece of output: the SAPI's per-thread buffers and the
# connection's output buffer must not keep it. A 16 MiB PHP message was
# copied into a thread_local string that kept its capacity for the thread's
# life (no trim can return memory still allocated), a response header
# likewise, and the connection's buffer grew to the whole piece; and once
# glibc has freed a 16 MiB block it raises its mmap and trim thresholds, so
# its arena kept the next such block's pages too.
HUGE_OUTPUT = php_fixture("idle_trim", "huge_output.php")


@pytest.mark.parametrize("what", ["m", "h", "o"], ids=["php-message", "header", "echo"])
def test_a_huge_output_piece_is_not_kept_by_the_thread(tfpm_factory, what):
    tfpm = tfpm_factory(processes=1, threads=1, idle_trim="1s", ini={"output_buffering": "0"})
    pid = worker_pid(tfpm)
    r = fcgi.request(tfpm.sock, HUGE_OUTPUT, query="n=10&w=mho")
    assert r.status == 200 and r.body.endswith(b"ok\n"), r
    wait_until(lambda: pool(tfpm)["idle_trims"] >= 1, 15 * SLOW, interval=0.1, what="the first idle trim")
    base = rss_anon(pid)
    n = 16 * MiB
    for _ in range(2):  # the second one comes from glibc's raised thresholds
        trims = pool(tfpm)["idle_trims"]
        r = fcgi.request(tfpm.sock, HUGE_OUTPUT, query=f"n={n}&w={what}")
        assert r.status == 200 and r.body.endswith(b"ok\n"), r
        if what == "m":
            assert r.stderr.count(b"m") >= n, len(r.stderr)
        elif what == "h":
            assert r.headers["x-huge"] == "h" * n
        else:
            assert r.body == b"o" * n + b"ok\n"
        wait_until(lambda: pool(tfpm)["idle_trims"] > trims, 15 * SLOW, interval=0.1, what="the idle trim")
    kept = rss_anon(pid)
    print(f"\n{what}: anonymous RSS {base / MiB:.1f} MiB before, {kept / MiB:.1f} MiB after two 16 MiB pieces")
    assert kept - base < 4 * MiB, (base, kept)


def test_many_headers_in_the_access_log_are_not_kept_by_the_thread(tfpm_factory):
    # The access log's view of the response headers was one per line, in a
    # per-thread vector (and glibc kept the pages of its growth after it
    # was freed): 12.6 MiB after two responses of 300,000 headers.
    tfpm = tfpm_factory(processes=1, threads=1, idle_trim="1s",
                        access_log="{dir}/access.log", access_format="%s %{X-Many}o")
    pid = worker_pid(tfpm)
    r = fcgi.request(tfpm.sock, HUGE_OUTPUT, query="n=10&w=H")
    assert r.status == 200, r
    wait_until(lambda: pool(tfpm)["idle_trims"] >= 1, 15 * SLOW, interval=0.1, what="the first idle trim")
    base = rss_anon(pid)
    n = 300_000
    for _ in range(2):
        trims = pool(tfpm)["idle_trims"]
        r = fcgi.request(tfpm.sock, HUGE_OUTPUT, query=f"n={n}&w=H")
        assert r.status == 200 and r.body == b"ok\n", r
        wait_until(lambda: pool(tfpm)["idle_trims"] > trims, 15 * SLOW, interval=0.1, what="the idle trim")
    kept = rss_anon(pid)
    print(f"\nanonymous RSS {base / MiB:.1f} MiB before, {kept / MiB:.1f} MiB after two responses of {n} headers")
    assert kept - base < 2 * MiB, (base, kept)
    # The line still names the first X-Many header, as php-fpm's would.
    lines = (tfpm.dir / "access.log").read_text().splitlines()
    assert lines[-1] == "200 0", lines[-1]
