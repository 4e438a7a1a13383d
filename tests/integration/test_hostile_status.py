"""Hostile bytes in the scoreboard never take the supervisor down (issue 13).

A client controls the request URI, the query string and the user of an
`Authorization: Basic` header; the status page (?full, every format),
fpm_get_status() and `pm-ctl status` serialise them as JSON in the
supervisor. Bytes that are not UTF-8 made nlohmann::json throw there, the
supervisor abort and every worker die with it (PR_SET_PDEATHSIG).
"""
import base64
import json
import threading

import pytest

import fcgi
from helpers import SLOW, php_fixture, wait_until

SLEEP = php_fixture("sleep")
ECHO = php_fixture("echo")
FPM_STATUS = php_fixture("fpm_status")
# JSON first: each status request ends as its thread's last request, and
# the user check needs an idle thread whose last request is a bad-user one.
FORMATS = ["json", "", "xml", "html", "openmetrics"]
FFFD = "\ufffd"

# The reproductions: the user "\xff" of Basic "\xff:x"; a Latin-1
# query and URI; a UTF-8 query longer than the 255-byte scoreboard field,
# which cut it in the middle of a character.
BAD_AUTH = b"Basic " + base64.b64encode(b"\xff:x")
LATIN1_QUERY = b"ms=%d&q=caf\xe9"
LONG_QUERY = b"ms=%d&q=" + "é".encode() * 200


def status_page(sock, query):
    params = {"SCRIPT_NAME": "/status", "REQUEST_URI": "/status?" + query}
    return fcgi.request(sock, "/srv/nonexistent/status", query=query, params=params)


def sleeper(sock, query, uri, done):
    params = {"QUERY_STRING": query, "REQUEST_URI": uri}
    try:
        done.append(fcgi.request(sock, SLEEP, params=params, timeout=60).status)
    except OSError as e:
        done.append(e)


@pytest.mark.sanitize
def test_status_reads_during_requests_with_bytes_that_are_not_utf8(tfpm_factory):
    # The sleepers run 8 s times the sanitizer factor (48 s under TSan):
    # past PHP's default max_execution_time (30 s, wall clock in ZTS).
    tfpm = tfpm_factory(processes=1, threads=5, status_path="/status", ini={"max_execution_time": "0"})
    pid, workers = tfpm.pid, tfpm.worker_pids()
    # Every thread serves one request with the bad user at the same time, so
    # each idle thread shows it as its last request's user.
    done = []
    auth = [threading.Thread(target=lambda: done.append(
        fcgi.request(tfpm.sock, SLEEP, query="ms=1000", headers={"Authorization": BAD_AUTH}).status))
        for _ in range(5)]
    for t in auth:
        t.start()
    for t in auth:
        t.join(30 * SLOW)
    assert done == [200] * 5
    # Two requests running while the status is read: one with a Latin-1
    # query and URI, one with a long UTF-8 query.
    ms = int(8000 * SLOW)
    running = []
    sleepers = [
        threading.Thread(target=sleeper, args=(tfpm.sock, LATIN1_QUERY % ms, b"/caf\xe9?" + LATIN1_QUERY % ms,
                                               running)),
        threading.Thread(target=sleeper, args=(tfpm.sock, LONG_QUERY % ms, b"/long?" + LONG_QUERY % ms, running)),
    ]
    for t in sleepers:
        t.start()

    def both_running():
        st = tfpm.status()
        return sum(t.get("method") == "GET" and t["state"] == "Running"
                   for p in st["pools"][0]["processes"] for t in p["threads"]) >= 2

    wait_until(both_running, 10 * SLOW, what="both sleepers running")
    try:
        # pm-ctl status, human and JSON: threads show method and URI.
        st = tfpm.status()
        uris = [t.get("uri", "") for p in st["pools"][0]["processes"] for t in p["threads"]]
        assert "/caf" + FFFD + "?ms=%d&q=caf%s" % (ms, FFFD) in uris, uris
        assert tfpm.ctl("status").returncode == 0
        # The status page in every format, with ?full.
        for fmt in FORMATS:
            query = "full&" + fmt if fmt else "full"
            r = status_page(tfpm.sock, query)
            assert r.status == 200, (fmt, r)
            if fmt == "json":
                page = json.loads(r.body)
                users = [p["user"] for p in page["processes"]]
                assert FFFD in users, users
                uris = [p["request uri"] for p in page["processes"]]
                assert any(u.startswith("/index.php?ms=%d&q=\u00e9" % ms) for u in uris), uris
                assert any("q=caf" + FFFD in u for u in uris), uris
        # fpm_get_status() from PHP.
        r = fcgi.request(tfpm.sock, FPM_STATUS)
        assert r.status == 200, r
        procs = json.loads(r.body)["procs"]
        assert any(p["query-string"].endswith("q=caf" + FFFD) for p in procs), procs
        long_q = [p["query-string"] for p in procs if p["query-string"].startswith("ms=%d&q=\u00e9" % ms)]
        # Cut at a character boundary: whole characters only, no U+FFFD.
        assert long_q and FFFD not in long_q[0] and len(long_q[0].encode()) <= 255, long_q
    finally:
        for t in sleepers:
            t.join(60 * SLOW)
    assert running == [200, 200]
    # The same supervisor and workers, still serving.
    assert tfpm.alive() and tfpm.pid == pid
    assert tfpm.worker_pids() == workers
    assert fcgi.request(tfpm.sock, ECHO).status == 200
    assert status_page(tfpm.sock, "full&json").status == 200
    assert "internal error" not in tfpm.log_text()
