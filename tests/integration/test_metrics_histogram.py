"""The request duration and queue wait histograms and the requests by status
class on the ?openmetrics status page (docs/metrics.md): every finished
request is counted once, in the bucket of the latency the client measured,
and the counts survive a killed worker and a reload."""
import math
import os
import re
import signal
import socket
import time

import fcgi
from helpers import SLOW, php_fixture, wait_until

SLEEP = php_fixture("sleep")
STATUS_CODE = php_fixture("status")
LE = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, math.inf]
LE_TEXT = ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0",
           "10.0", "30.0", "+Inf"]
CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"]
# The server takes its clocks after reading the request and after sending
# its end, the client before sending and after reading: a thread the
# scheduler holds up between sending and its clock can put the server's
# end a little after the client's. Bounds from client latencies allow this
# much (a tolerance of the measurement, not a speed requirement).
CLOCK_SLACK = 0.005
SAMPLE = re.compile(r'^([a-z_]+)(?:\{([a-z_]+)="([^"]*)"\})? (\S+)$')


def bucket(seconds):
    return next(i for i, le in enumerate(LE) if seconds <= le)


class Metrics:
    """One scrape of ?openmetrics, parsed."""

    def __init__(self, tfpm):
        params = {"SCRIPT_NAME": "/status", "REQUEST_URI": "/status?openmetrics"}
        r = fcgi.request(tfpm.sock, "/srv/nonexistent/status", query="openmetrics", params=params)
        assert r.status == 200
        text = r.body.decode()
        assert text.endswith("# EOF\n")
        self.samples = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            assert m, f"not an OpenMetrics sample: {line!r}"
            self.samples[(m[1], m[3])] = float(m[4])
        for name in ("tfpm_request_duration_seconds", "tfpm_queue_wait_seconds"):
            assert text.count(f"# TYPE {name} histogram\n") == 1
            cum = self.cumulative(name)
            assert cum == sorted(cum), f"{name} buckets decrease: {cum}"
            assert self.samples[(name + "_count", None)] == cum[-1]
        assert "# TYPE tfpm_requests counter\n" in text

    def cumulative(self, name):
        return [self.samples[(name + "_bucket", le)] for le in LE_TEXT]

    def count(self, name="tfpm_request_duration_seconds"):
        return self.samples[(name + "_count", None)]

    def sum(self, name="tfpm_request_duration_seconds"):
        return self.samples[(name + "_sum", None)]

    def status_class(self, c):
        return self.samples[("tfpm_requests_total", c)]

    @property
    def accepted(self):
        return self.samples[("phpfpm_accepted_connections", None)]

    def settled(self):
        """Every request begun before this scrape has been counted: the
        accepted ones less this scrape itself (no other is in flight)."""
        return self.count() == self.accepted - 1 and self.count("tfpm_queue_wait_seconds") == self.count() \
            and sum(self.status_class(c) for c in CLASSES) == self.count()


def settled_metrics(tfpm):
    """A scrape once the last requests' threads have counted them (a thread
    counts a request just after sending its end)."""
    seen = []
    wait_until(lambda: seen.append(Metrics(tfpm)) or seen[-1].settled(), 10 * SLOW,
               what="the histograms to count every finished request")
    return seen[-1]


def timed(tfpm, script, query):
    start = time.monotonic()
    r = fcgi.request(tfpm.sock, script, query=query)
    return r.status, time.monotonic() - start


def test_each_request_lands_in_the_bucket_of_its_measured_latency(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=2, status_path="/status")
    before = settled_metrics(tfpm)
    served = []  # (least possible server duration, client-measured latency)
    for ms in (0, 20, 120, 600, 0, 20, 120, 600):
        status, latency = timed(tfpm, SLEEP, f"ms={ms}")
        assert status == 200
        served.append((ms / 1000, latency))
    codes = {}
    for code in (302, 404, 503):
        status, latency = timed(tfpm, STATUS_CODE, f"code={code}")
        assert status == code
        served.append((0, latency))
        codes[code // 100] = codes.get(code // 100, 0) + 1
    after = settled_metrics(tfpm)

    # The status scrapes in between (settled_metrics may scrape more than
    # once) are finished requests too, of an unknown, short duration.
    scrapes = (after.accepted - before.accepted) - len(served)
    assert scrapes >= 1
    name = "tfpm_request_duration_seconds"
    assert after.count() - before.count() == len(served) + scrapes
    delta = [a - b for a, b in zip(after.cumulative(name), before.cumulative(name))]
    # A request's duration (start of PHP to its end) is at least its sleep
    # and at most what the client measured (plus CLOCK_SLACK): it is counted
    # in a bucket between those two. The 600 ms requests are pinned to
    # le="1.0" (unless the client measured over 995 ms).
    for i in range(len(LE)):
        surely_below = sum(1 for _, latency in served if bucket(latency + CLOCK_SLACK) <= i)
        maybe_below = sum(1 for least, _ in served if bucket(least) <= i) + scrapes
        assert surely_below <= delta[i] <= maybe_below, (LE_TEXT[i], delta, served, scrapes)
    assert after.sum() - before.sum() >= sum(least for least, _ in served)
    # Queue wait: as many observations, none longer than its request.
    wait = "tfpm_queue_wait_seconds"
    assert after.count(wait) - before.count(wait) == len(served) + scrapes
    longest = bucket(max(latency for _, latency in served) + CLOCK_SLACK)
    assert after.cumulative(wait)[longest] - before.cumulative(wait)[longest] >= len(served)

    got = {c: after.status_class(c) - before.status_class(c) for c in CLASSES}
    assert got == {"1xx": 0, "2xx": 8 + scrapes, "3xx": codes[3], "4xx": codes[4], "5xx": codes[5], "other": 0}


def test_queue_wait_counts_from_the_accept(tfpm_factory):
    """A client that connects and sends its request 600 ms later: the
    request waited that long in the process before PHP started (less the
    time the thread took to accept, which a loaded machine can stretch:
    the check is for more than 250 ms)."""
    tfpm = tfpm_factory(processes=1, threads=1, status_path="/status")
    before = settled_metrics(tfpm)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(tfpm.sock)
    start = time.monotonic()
    time.sleep(0.6)
    r = fcgi.request(tfpm.sock, SLEEP, query="ms=0", sock=s)
    latency = time.monotonic() - start
    s.close()
    assert r.status == 200
    after = settled_metrics(tfpm)
    scrapes = (after.accepted - before.accepted) - 1
    wait = "tfpm_queue_wait_seconds"
    delta = [a - b for a, b in zip(after.cumulative(wait), before.cumulative(wait))]
    # The delayed request is above le="0.25" and at or below the bucket of
    # what the client measured.
    assert delta[bucket(0.25)] <= scrapes
    assert delta[bucket(latency + CLOCK_SLACK)] >= 1
    assert after.sum(wait) - before.sum(wait) >= 0.25


def test_histograms_survive_a_killed_worker_and_a_reload(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=2, status_path="/status")
    for ms in (20, 20, 20, 20, 600, 600):
        assert timed(tfpm, SLEEP, f"ms={ms}")[0] == 200
    first = settled_metrics(tfpm)
    name = "tfpm_request_duration_seconds"
    assert first.count() >= 6
    # The six slept at least 20 ms; the two long ones at least 600 ms.
    assert first.count() - first.cumulative(name)[bucket(0.01)] >= 6
    assert first.count() - first.cumulative(name)[bucket(0.5)] >= 2

    # A thread counts its request just after sending the answer: kill only
    # once every thread is idle (pm-ctl reads the scoreboard without PHP),
    # or the last scrape would be a request begun and never counted.
    wait_until(lambda: tfpm.status()["pools"][0]["idle_threads"] == 4, 10 * SLOW, what="every thread idle")
    old = tfpm.worker_pids()
    assert len(old) == 2
    os.kill(old[0], signal.SIGKILL)
    wait_until(lambda: len(tfpm.worker_pids()) == 2 and old[0] not in tfpm.worker_pids()
               and tfpm.status()["pools"][0]["idle_threads"] == 4, 10 * SLOW, what="a replacement worker")
    second = settled_metrics(tfpm)
    # Nothing the killed process counted is lost: still every request the
    # pool accepted, and no bucket went down.
    for a, b in zip(first.cumulative(name), second.cumulative(name)):
        assert b >= a
    assert second.count() > first.count()

    generation = set(tfpm.worker_pids())
    tfpm.ctl("reload")
    # Every process of the old generation exited (and was reaped, its
    # counters retired).
    wait_until(lambda: not set(tfpm.worker_pids()) & generation and len(tfpm.worker_pids()) == 2,
               10 * SLOW, what="the old generation to exit")
    third = settled_metrics(tfpm)
    for a, b in zip(second.cumulative(name), third.cumulative(name)):
        assert b >= a
    assert third.count() > second.count()
    assert third.count() - third.cumulative(name)[bucket(0.5)] >= 2


def test_worker_mode_requests_are_counted_too(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2, mode="worker", worker={"script": php_fixture("worker", "app.php")},
                        status_path="/status")
    before = settled_metrics(tfpm)
    latencies = []
    for s in ("0", "0.12", "0.6"):
        start = time.monotonic()
        assert fcgi.request(tfpm.sock, php_fixture("worker", "index.php"), query=f"do=sleep&s={s}").status == 200
        latencies.append((float(s), time.monotonic() - start))
    after = settled_metrics(tfpm)
    scrapes = (after.accepted - before.accepted) - len(latencies)
    name = "tfpm_request_duration_seconds"
    assert after.count() - before.count() == len(latencies) + scrapes
    delta = [a - b for a, b in zip(after.cumulative(name), before.cumulative(name))]
    for i in range(len(LE)):
        surely_below = sum(1 for _, latency in latencies if bucket(latency + CLOCK_SLACK) <= i)
        maybe_below = sum(1 for least, _ in latencies if bucket(least) <= i) + scrapes
        assert surely_below <= delta[i] <= maybe_below, (LE_TEXT[i], delta, latencies, scrapes)
