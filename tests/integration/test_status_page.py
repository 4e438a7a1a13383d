"""php-fpm's status page (status_path = pm.status_path) and fpm_get_status():
the same formats, fields and headers as php-fpm, counters over every process
of the pool that survive process replacement, compared with Debian's
php8.2-fpm."""
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import fcgi
from helpers import REPO, SANITIZER, SLOW, PhpFpm, php_fixture, wait_until

SLEEP = php_fixture("sleep")
ECHO = php_fixture("echo")
FPM_STATUS = php_fixture("fpm_status")
FORMATS = ["", "json", "xml", "html", "openmetrics"]


def status(tfpm_or_sock, query="", method="GET"):
    sock = getattr(tfpm_or_sock, "sock", tfpm_or_sock)
    params = {"SCRIPT_NAME": "/status", "REQUEST_URI": "/status" + ("?" + query if query else "")}
    return fcgi.request(sock, "/srv/nonexistent/status", query=query, method=method, params=params)


def text_fields(body):
    """The summary of the text format: {"pool": "www", ...}."""
    head = body.decode().split("\n\n", 1)[0]
    return dict(line.split(":", 1) for line in head.splitlines()) and {
        k.strip(): v.strip() for k, v in (line.split(":", 1) for line in head.splitlines())}


def text_rows(body):
    rows = body.decode().split("************************\n")[1:]
    return [{k.strip(): v.strip() for k, v in (l.split(":", 1) for l in r.strip().splitlines())} for r in rows]


def sleep_in_background(tfpm, ms, n):
    threads = [threading.Thread(target=fcgi.request, args=(tfpm.sock, SLEEP),
                                kwargs={"query": f"ms={ms}"}) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


@pytest.mark.sanitize
def test_every_format_has_php_fpms_fields_and_headers(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=2, status_path="/status")
    for _ in range(5):
        assert fcgi.request(tfpm.sock, ECHO).status == 200
    # A thread marks its request done just after sending the end of it:
    # ask until a page shows every other thread idle.
    pages = []
    wait_until(lambda: pages.append(status(tfpm)) or text_fields(pages[-1].body)["idle processes"] == "3",
               10 * SLOW, what="every other thread idle")
    r = pages[-1]
    assert r.status == 200
    assert r.headers["content-type"] == "text/plain;charset=UTF-8"
    assert r.headers["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert r.headers["cache-control"] == "no-cache, no-store, must-revalidate, max-age=0"
    f = text_fields(r.body)
    assert f["pool"] == "www" and f["process manager"] == "static"
    # 5 echo requests, the status requests that waited, and this one, which
    # is the one active thread.
    n = int(f["accepted conn"])
    assert n >= 6
    assert (f["idle processes"], f["active processes"], f["total processes"]) == ("3", "1", "4")
    assert f["listen queue len"] == "511"  # listen_backlog, from the kernel
    assert int(f["memory peak"]) > 0 or SANITIZER  # USE_ZEND_ALLOC=0 there
    assert re.fullmatch(r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}", f["start time"])

    j = json.loads(status(tfpm, "json").body)
    assert j["pool"] == "www" and j["accepted conn"] == n + 1 and j["total processes"] == 4
    assert isinstance(j["start time"], int)

    x = status(tfpm, "xml")
    assert x.headers["content-type"] == "text/xml;charset=UTF-8"
    root = ET.fromstring(x.body)
    assert root.tag == "status" and root.findtext("accepted-conn") == str(n + 2)

    h = status(tfpm, "html")
    assert h.headers["content-type"] == "text/html;charset=UTF-8"
    assert f"<tr><th>accepted conn</th><td>{n + 3}</td></tr>".encode() in h.body and h.body.endswith(b"</body></html>")

    m = status(tfpm, "openmetrics")
    assert m.headers["content-type"] == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    metrics = dict(l.split(" ", 1) for l in m.body.decode().splitlines() if l and not l.startswith("#"))
    assert metrics["phpfpm_up"] == "1" and metrics["phpfpm_accepted_connections"] == str(n + 4)
    assert metrics["phpfpm_total_processes"] == "4"
    assert m.body.endswith(b"# EOF\n")

    head = status(tfpm, method="HEAD")
    assert head.status == 200 and head.body == b""
    # Only status_path is the status page.
    assert fcgi.request(tfpm.sock, ECHO).status == 200


@pytest.mark.sanitize
def test_full_lists_every_thread_with_its_request(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=2, status_path="/status")
    sleepers = sleep_in_background(tfpm, 1500, 1)
    wait_until(lambda: text_fields(status(tfpm).body)["active processes"] == "2", 10 * SLOW,
               what="the sleeping request to run")
    # An idle thread shows its last request, unless the status request
    # itself landed on that thread (or came before the thread marked the
    # request done, just after sending its end): then send it again. The
    # same moment can leave an earlier turn's status request still marked
    # Running on another thread (seen under TSan): then also again.
    def running_status(rows):
        return [r for r in rows if r["request URI"] == "/status?full" and r["state"] == "Running"]

    for _ in range(20):
        r = fcgi.request(tfpm.sock, ECHO, query="a=1&b=%3C2%3E", method="POST", body=b"x" * 17,
                         headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})  # alice:secret
        assert r.status == 200
        rows = text_rows(status(tfpm, "full").body)
        by_uri = {r["request URI"]: r for r in rows}
        if by_uri.get("/index.php?a=1&b=%3C2%3E", {}).get("state") == "Idle" and len(running_status(rows)) == 1:
            break
    assert len(rows) == 4
    assert {r["pid"] for r in rows} == {str(p) for p in tfpm.worker_pids()}
    # A status request of an earlier turn of the loop may have left its URI
    # on another thread, idle now: this request is the one running.
    mine = running_status(rows)
    assert len(mine) == 1, rows
    assert mine[0]["last request memory"] == "0"
    slow = by_uri["/index.php?ms=1500"]
    assert slow["state"] == "Running" and int(slow["request duration"]) > 0
    assert slow["script"] == SLEEP and slow["request method"] == "GET"
    done = by_uri["/index.php?a=1&b=%3C2%3E"]
    assert done["state"] == "Idle" and done["request method"] == "POST"
    assert done["content length"] == "17" and done["user"] == "alice"
    # Sanitizer builds run with USE_ZEND_ALLOC=0: no Zend heap to measure.
    assert (int(done["last request memory"]) > 0 or SANITIZER) and float(done["last request cpu"]) >= 0
    for t in sleepers:
        t.join()
    # The URI escaped as php-fpm escapes it: json_encode, HTML entities.
    body = status(tfpm, "json&full").body
    assert len(json.loads(body)["processes"]) == 4
    assert b'"request uri":"\\/status?json&full"' in body
    body = status(tfpm, "xml&full").body
    assert len(ET.fromstring(body).find("processes")) == 4
    assert b"<request-uri>/status?xml&amp;full</request-uri>" in body
    body = status(tfpm, "html&full").body
    assert body.count(b"<tr><td>") == 4 and b"<td>/status?html&amp;full</td>" in body


def test_busy_pool_counts_max_active_children_reached_and_listen_queue(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2, status_path="/status", listen_backlog=64)
    sleepers = sleep_in_background(tfpm, 2500, 2)
    wait_until(lambda: len([r for r in tfpm.status()["pools"][0]["processes"][0]["threads"]
                            if r["state"] == "Running"]) == 2, 10 * SLOW, what="both threads busy")
    # Every thread is busy: these wait in the kernel's accept queue.
    waiting = []
    for _ in range(3):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(tfpm.sock)
        waiting.append(s)
    time.sleep(1.5)  # at least one sample (once a second) sees it
    for t in sleepers:
        t.join()
    for s in waiting:
        s.close()
    wait_until(lambda: text_fields(status(tfpm).body)["active processes"] == "1", 10 * SLOW,
               what="the sleepers to be done")
    f = text_fields(status(tfpm).body)
    assert f["listen queue len"] == "64"
    assert int(f["max listen queue"]) >= 3
    assert f["max active processes"] == "2"
    assert f["max children reached"] == "1"
    assert f["listen queue"] == "0" and f["active processes"] == "1"


def test_slow_and_terminated_requests_and_accepted_conn_survive_a_killed_worker(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2, status_path="/status", request_slowlog_timeout="1s",
                        slowlog="{dir}/slow.log", request_terminate_timeout="2s")
    assert fcgi.request(tfpm.sock, SLEEP, query="ms=1600").status == 200
    assert fcgi.request(tfpm.sock, SLEEP, query="ms=5000").status == 504
    for _ in range(2):
        fcgi.request(tfpm.sock, ECHO)
    f = text_fields(status(tfpm).body)
    assert f["slow requests"] == "2" and f["terminated requests"] == "1" and f["accepted conn"] == "5"
    metrics = status(tfpm, "openmetrics").body.decode()
    assert "\nphpfpm_slow_requests 2\n" in metrics and "\ntfpm_terminated_requests 1\n" in metrics
    peak = int(f["memory peak"])
    old = tfpm.worker_pids()
    os.kill(old[0], signal.SIGKILL)
    wait_until(lambda: tfpm.worker_pids() and tfpm.worker_pids() != old
               and tfpm.status()["pools"][0]["idle_threads"] == 2, 10 * SLOW, what="a replacement worker")
    f = text_fields(status(tfpm).body)
    assert f["slow requests"] == "2" and f["terminated requests"] == "1"
    assert f["accepted conn"] == "7"  # the 5 before, the openmetrics one and this one
    assert int(f["memory peak"]) == peak


def test_counters_survive_a_reload(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2, status_path="/status")
    for _ in range(4):
        fcgi.request(tfpm.sock, ECHO)
    start = text_fields(status(tfpm).body)["start time"]
    tfpm.ctl("reload")
    f = text_fields(status(tfpm).body)
    assert f["accepted conn"] == "6" and f["start time"] == start


@pytest.mark.sanitize
def test_fpm_get_status_returns_php_fpms_array(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=3, status_path="/status")
    fcgi.request(tfpm.sock, ECHO)
    s = json.loads(fcgi.request(tfpm.sock, FPM_STATUS).body)
    assert list(s) == ["pool", "process-manager", "start-time", "start-since", "accepted-conn", "listen-queue",
                       "max-listen-queue", "listen-queue-len", "idle-processes", "active-processes",
                       "total-processes", "max-active-processes", "max-children-reached", "slow-requests",
                       "memory-peak", "terminated-requests", "rejected-requests", "process-recycles-max-requests",
                       "process-recycles-memory", "memory-recycles", "idle-trims", "procs"]
    assert s["pool"] == "www" and s["accepted-conn"] == 2 and s["total-processes"] == 6
    assert len(s["procs"]) == 6
    assert list(s["procs"][0]) == ["pid", "state", "start-time", "start-since", "requests", "request-duration",
                                   "request-method", "request-uri", "query-string", "request-length", "user",
                                   "script", "last-request-cpu", "last-request-memory", "process-start-time",
                                   "process-requests"]
    mine = [p for p in s["procs"] if p["script"] == FPM_STATUS]
    assert len(mine) == 1 and mine[0]["state"] == "Running" and mine[0]["request-uri"] == "/index.php"
    # Works without status_path too, as in php-fpm.
    plain = tfpm_factory(processes=1, threads=1)
    assert json.loads(fcgi.request(plain.sock, FPM_STATUS).body)["total-processes"] == 1


# ---- against php-fpm ------------------------------------------------------

FPM_CONF = """\
[global]
error_log = {dir}/php-fpm.log
pid = {dir}/php-fpm.pid
daemonize = no

[www]
listen = {dir}/fpm.sock
listen.backlog = 511
pm = static
pm.max_children = 2
pm.status_path = /status
"""


def shape(fmt, body):
    """The format with its values masked: what a parser of php-fpm's status
    page depends on (names, order, punctuation, escaping of the URI)."""
    text = body.decode()
    # php-fpm 8.2 has no "memory peak" (8.4 added it): compare without it.
    # tfpm adds terminated and rejected requests after it, and the
    # connection limits' counters (docs/security.md).
    for name in ("memory peak", "terminated requests", "rejected requests", "connections refused",
                 "idle connections closed", "header timeouts", "params refused", "output limit closed",
                 "protocol errors", "accept errors", "process recycles max requests", "process recycles memory",
                 "memory recycles", "idle trims", "clients refused", "user ini cache full",
                 # process and thread restarts by cause and leak_check
                 # (base/restart_cause.h); "process restarts X" first, as
                 # "restarts X" is the end of its name.
                 "process restarts crash", "process restarts exit", "process restarts max requests",
                 "process restarts memory", "process restarts watch", "process restarts reload",
                 "process restarts timeout", "process restarts recycle",
                 "restarts crash", "restarts exit", "restarts max requests", "restarts memory",
                 "restarts watch", "restarts reload", "restarts timeout", "restarts recycle", "state leaks",
                 # the pool's worker processes and their resident memory
                 "worker processes", "resident bytes max", "resident bytes"):
        dash, metric = name.replace(" ", "-"), name.replace(" ", "_")
        text = re.sub(rf'({name}:\s+\d+\n|<tr><th>{name}</th><td>\d+</td></tr>\n|<{dash}>\d+</{dash}>\n|'
                      rf',"{name}":\d+|# HELP \w+_{metric} [^\n]*\n# TYPE \w+_{metric} \w+\n\w+_{metric} \d+\n)',
                      "", text)
    # tfpm adds its latency histograms and requests by status class to
    # OpenMetrics, before "# EOF" (docs/metrics.md).
    text = re.sub(r"# (HELP|TYPE|UNIT) tfpm_(request_duration_seconds|queue_wait_seconds|requests) [^\n]*\n|"
                  r"tfpm_(request_duration_seconds|queue_wait_seconds)_(bucket|sum|count)[ {][^\n]*\n|"
                  r"tfpm_requests_total\{[^\n]*\n", "", text)
    # tfpm adds two fields to each row (process recycling): its process's
    # start time and requests.
    text = re.sub(r'(process start time:\s+[^\n]*\nprocess requests:\s+\d+\n|'
                  r'<th>process start time</th><th>process requests</th>|'
                  r'<process-start-time>[^<]*</process-start-time><process-requests>\d+</process-requests>|'
                  r',"process start time":\d+,"process requests":\d+)', "", text)
    text = re.sub(r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}", "DATE", text)
    text = re.sub(r"\d+(\.\d+)?", "N", text)
    # Per-process rows: php-fpm's depend on which child served what; keep one.
    for sep in ("\n************************\n", "<process>", "<tr><td>", '{"pid"'):
        if sep in text:
            head, _, rest = text.partition(sep)
            last = rest.rsplit(sep, 1)[-1]
            text = head + sep + re.sub(r"(Idle|Running|Finishing|Reading headers)", "STATE", last)
    # Values that depend on which process served what.
    for name in ("request URI", "script", "request method", "user"):
        text = re.sub(rf"({name}:\s+)[^\n]*", r"\1VALUE", text)
    for name in ("request uri", "script", "request method", "user"):
        text = re.sub(rf'("{name}":")[^"]*', r"\1VALUE", text)
    for name in ("request-uri", "script", "request-method", "user"):
        text = re.sub(rf"(<{name}>)[^<]*", r"\1VALUE", text)
    if text.count("<tr><td>"):
        text = re.sub(r"<tr><td>.*</td></tr>", "ROW", text)
    return text


@pytest.fixture
def php_fpm():
    d = Path(tempfile.mkdtemp(prefix="tfpm-it-status-", dir="/tmp"))
    fpm = PhpFpm(d, FPM_CONF.format(dir=d), ready=lambda: (d / "fpm.sock").exists())
    yield str(d / "fpm.sock")
    fpm.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("full", [False, True], ids=["summary", "full"])
@pytest.mark.parametrize("fmt", FORMATS, ids=[f or "text" for f in FORMATS])
def test_same_shape_as_php_fpm(fmt, full, php_fpm, tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2, status_path="/status")
    query = "&".join(x for x in (fmt, "full" if full else "") if x)
    for sock in (php_fpm, tfpm.sock):
        fcgi.request(sock, ECHO, query="x=<1>")
    fpm, ours = status(php_fpm, query), status(tfpm, query)
    assert ours.status == fpm.status == 200
    for h in ("content-type", "expires", "cache-control"):
        assert ours.headers.get(h) == fpm.headers.get(h), h
    assert shape(fmt, ours.body) == shape(fmt, fpm.body)



def test_worker_mode_pools_answer_status_and_ping_without_the_script(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2, mode="worker", worker={"script": php_fixture("worker", "app.php")},
                        status_path="/status", ping_path="/ping")
    for _ in range(3):
        assert fcgi.request(tfpm.sock, php_fixture("worker", "index.php")).status == 200
    wait_until(lambda: text_fields(status(tfpm).body)["idle processes"] == "1", 10 * SLOW,
               what="the other thread idle")
    f = text_fields(status(tfpm).body)
    assert f["total processes"] == "2" and int(f["accepted conn"]) >= 4
    ping = fcgi.request(tfpm.sock, "/srv/nonexistent/ping", params={"SCRIPT_NAME": "/ping"})
    assert ping.status == 200 and ping.body == b"pong"


def test_through_nginx_with_the_shipped_snippet(tfpm_factory, nginx_factory, tmp_path):
    tfpm = tfpm_factory(processes=1, threads=2, status_path="/status", ping_path="/ping")
    snippet = (REPO / "conf" / "nginx" / "tfpm-status.conf").read_text()
    snippet, n = re.subn(r"fastcgi_pass\s+unix:[^;]+;", f"fastcgi_pass unix:{tfpm.sock};", snippet)
    assert n == 1
    (tmp_path / "index.html").write_text("static\n")
    base = nginx_factory(tfpm, str(tmp_path), extra_location=snippet)
    with urllib.request.urlopen(base + "/status?json&full", timeout=10) as r:
        assert r.headers["Content-Type"] == "application/json"
        s = json.load(r)
    assert s["pool"] == "www" and s["total processes"] == 2 and len(s["processes"]) == 2
    assert "/status" in {p["request uri"].split("?")[0] for p in s["processes"]}
    with urllib.request.urlopen(base + "/ping", timeout=10) as r:
        assert r.read() == b"pong"


def test_ondemand_pool_reports_its_process_manager_and_threads(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=4, pm="ondemand", idle_timeout="30s", status_path="/status")
    f = text_fields(status(tfpm).body)
    assert f["process manager"] == "ondemand"
    # The status request itself started the pool's first thread.
    assert f["total processes"] == "1" and f["active processes"] == "1"
    j = json.loads(status(tfpm, "json&full").body)
    assert j["process manager"] == "ondemand" and len(j["processes"]) == j["total processes"]
