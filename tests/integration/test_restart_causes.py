"""Worker process restarts by cause (src/supervisor/exit_cause.h,
docs/metrics.md `tfpm_process_restarts_*`, docs/control-protocol.md
`restarts`): a worker killed with SIGKILL is a crash, one replaced by
process_max_requests is max_requests, one drained by a reload is reload;
the counts are exact on /metrics of the status listener (no PHP thread
needed) and in `pm-ctl status`, and survive the reload."""
import os
import re
import signal

import fcgi
from helpers import SLOW, php_fixture, wait_until

RECYCLE = php_fixture("recycle")
CAUSES = ["crash", "exit", "max_requests", "memory", "watch", "reload", "timeout", "recycle"]
SAMPLE = re.compile(r'^(tfpm_process_(?:restarts|recycles)_[a-z_]+)(?:\{[^}]*\})? (\S+)$')


def pool(tfpm):
    return next(p for p in tfpm.status()["pools"] if p["name"] == "www")


def settled(tfpm):
    st = tfpm.try_status()
    return bool(st) and not st["previous_generations"] and all(
        p["state"] == "ready" for p in st["pools"][0]["processes"]) and len(st["pools"][0]["processes"]) == 1


def metrics(tfpm):
    """tfpm_process_restarts_* and tfpm_process_recycles_* from /metrics of
    the status listener."""
    st = str(tfpm.dir / "status.sock")
    r = fcgi.request(st, "/srv/nonexistent/metrics", params={"SCRIPT_NAME": "/metrics", "REQUEST_URI": "/metrics"})
    assert r.status == 200, r
    text = r.body.decode()
    for cause in CAUSES:
        assert f"# TYPE tfpm_process_restarts_{cause} counter\n" in text, cause
    return {m[1]: float(m[2]) for m in (SAMPLE.match(line) for line in text.splitlines()) if m}


def process_restarts(tfpm):
    return pool(tfpm)["restarts"]["processes"]


def expect(tfpm, **counts):
    want = {cause: counts.get(cause, 0) for cause in CAUSES}
    wait_until(lambda: process_restarts(tfpm) == want and settled(tfpm), 20 * SLOW,
               what=f"process restarts {want}")
    return want


def test_process_restarts_are_counted_by_cause(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2, process_max_requests=20, status_path="/status",
                        status_listen="{dir}/status.sock")
    assert metrics(tfpm) == {**{f"tfpm_process_restarts_{c}": 0 for c in CAUSES},
                             "tfpm_process_recycles_max_requests": 0, "tfpm_process_recycles_memory": 0}

    # crash: a signal the supervisor did not send.
    pid0 = pool(tfpm)["processes"][0]["pid"]
    os.kill(pid0, signal.SIGKILL)
    expect(tfpm, crash=1)
    assert pool(tfpm)["processes"][0]["pid"] != pid0

    # max_requests: past the threshold (20 .. 25 with the stagger) the
    # process asks to be replaced and is drained once its replacement is
    # ready; the replacement serves fewer than 20 of these.
    pid1 = pool(tfpm)["processes"][0]["pid"]
    for _ in range(25):
        assert fcgi.request(tfpm.sock, RECYCLE).status == 200
    expect(tfpm, crash=1, max_requests=1)
    assert pool(tfpm)["processes"][0]["pid"] != pid1
    assert pool(tfpm)["recycles"]["max_requests"] == 1

    # reload: the old generation's worker is drained.
    pid2 = pool(tfpm)["processes"][0]["pid"]
    tfpm.ctl("reload")
    want = expect(tfpm, crash=1, max_requests=1, reload=1)
    assert pool(tfpm)["processes"][0]["pid"] != pid2

    # The same on /metrics, after the reload (the counters are the pool's).
    m = metrics(tfpm)
    assert {c: m[f"tfpm_process_restarts_{c}"] for c in CAUSES} == want, m
    # php-fpm-style recycles stay as they were.
    assert (m["tfpm_process_recycles_max_requests"], m["tfpm_process_recycles_memory"]) == (1, 0), m

    # Threads' restarts sit beside them (a classic pool restarts none here).
    assert set(pool(tfpm)["restarts"]["threads"]) == set(CAUSES)
    # The text form prints the non-zero causes.
    text = tfpm.ctl("status").stdout
    assert "  processes restarted: crash 1, max_requests 1, reload 1\n" in text, text
