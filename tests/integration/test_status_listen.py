"""A pool's status listener (status_listen, php-fpm's pm.status_listen):
served by the supervisor without PHP, it answers the status page, ping,
/metrics, /ready and /live while every PHP thread of the pool is stuck, and
no client can make it (or the supervisor) stop answering."""
import json
import socket
import statistics
import struct
import threading
import time
import urllib.error
import urllib.request

import pytest

import fcgi
from helpers import SLOW, Nginx, free_port, php_fixture, wait_until

HANG = php_fixture("hang")
ECHO = php_fixture("echo")


def ask(address, path, query="", method="GET", timeout=5):
    params = {"SCRIPT_NAME": path, "REQUEST_URI": path + ("?" + query if query else "")}
    return fcgi.request(address, "/srv/nonexistent" + path, query=query, method=method, params=params,
                        timeout=timeout)


def timed(address, path, query=""):
    t0 = time.monotonic()
    r = ask(address, path, query)
    return r, (time.monotonic() - t0) * 1000


def hang_in_background(tfpm, n):
    def one():
        try:
            fcgi.request(tfpm.sock, HANG, query="how=sleep", timeout=60)
        except (OSError, ConnectionError):
            pass
    threads = [threading.Thread(target=one, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


def json_status(address):
    return json.loads(ask(address, "/status", "json").body)


@pytest.mark.sanitize
def test_status_listener_answers_while_every_php_thread_sleeps(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2, status_path="/status", ping_path="/ping",
                        status_listen="{dir}/status.sock", status_ready_backlog=1,
                        request_terminate_timeout=f"{int(8 * SLOW)}s")
    st = str(tfpm.dir / "status.sock")
    r = ask(st, "/ready")
    assert (r.status, r.body) == (200, b"ready\n")
    assert ask(st, "/live").status == 200
    # The main socket's status page keeps working as it was.
    assert ask(tfpm.sock, "/status").status == 200

    # Both PHP threads sleep; one more request waits in the listen queue.
    sleepers = hang_in_background(tfpm, 2)
    wait_until(lambda: json_status(st)["active processes"] == 2, 10 * SLOW, what="both threads asleep")
    sleepers += hang_in_background(tfpm, 1)
    wait_until(lambda: ask(st, "/ready").status == 503, 10 * SLOW, what="not ready with a request queued")
    r = ask(st, "/ready")
    assert r.body.startswith(b"not ready: ") and b"wait for a thread" in r.body, r.body
    # No PHP thread is free: the pool's own status page does not answer.
    with pytest.raises((socket.timeout, TimeoutError)):
        ask(tfpm.sock, "/status", timeout=0.5)

    # Every answer of the status listener, timed (reported, not asserted).
    times = {}
    for _ in range(10):
        for name, path, query in [("status", "/status", ""), ("status?json", "/status", "json"),
                                  ("status?full", "/status", "full"), ("status?openmetrics", "/status", "openmetrics"),
                                  ("ping", "/ping", ""), ("metrics", "/metrics", ""), ("ready", "/ready", ""),
                                  ("live", "/live", "")]:
            r, ms = timed(st, path, query)
            times.setdefault(name, []).append(ms)
            if name == "ready":
                assert r.status == 503
            else:
                assert r.status == 200, (name, r)
    print("\nstatus_listen answer times with every PHP thread asleep (ms, median / max of 10):")
    for name, ms in times.items():
        print(f"  {name:20s} {statistics.median(ms):7.2f} / {max(ms):7.2f}")

    j = json_status(st)
    assert j["pool"] == "www" and j["active processes"] == 2 and j["idle processes"] == 0
    full = ask(st, "/status", "json&full")
    procs = json.loads(full.body)["processes"]
    assert sum(1 for p in procs if p["state"] == "Running") == 2
    assert (ask(st, "/ping").body, ask(st, "/ping").headers["content-type"]) == (b"pong\n", "text/plain")
    m = ask(st, "/metrics")
    assert m.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    body = m.body.decode()
    assert "# EOF" not in body and "# UNIT" not in body
    samples = dict(l.split(" ", 1) for l in body.splitlines() if l and not l.startswith("#") and "{" not in l)
    assert samples["phpfpm_active_processes"] == "2" and samples["phpfpm_idle_processes"] == "0"
    om = ask(st, "/metrics", "openmetrics")
    assert om.headers["content-type"].startswith("application/openmetrics-text") and om.body.endswith(b"# EOF\n")
    assert ask(st, "/live").status == 200  # asleep is not dead: request_terminate_timeout ends them
    assert ask(st, "/index.php").status == 404
    head = ask(st, "/status", method="HEAD")
    assert head.status == 200 and head.body == b""

    # request_terminate_timeout ends the sleepers; the queued one runs; ready again.
    wait_until(lambda: ask(st, "/ready").status == 200, 30 * SLOW, what="ready again")
    for t in sleepers:
        t.join(30 * SLOW)
    pool = tfpm.status()["pools"][0]
    sl = pool["health"]["status_listen"]
    assert sl["address"] == st and sl["answered"] >= 80 and sl["timed_out"] == 0


def test_status_listener_on_tcp_through_nginx(tfpm_factory):
    port = free_port()
    tfpm = tfpm_factory(processes=1, threads=2, status_path="/fpm-status", status_listen=f"127.0.0.1:{port}")
    address = ("127.0.0.1", port)
    assert ask(address, "/fpm-status").status == 200
    assert ask(address, "/status").status == 404  # the pool named its own path
    extra = ("location ~ ^/(ready|live|metrics|fpm-status|ping)$ {\n"
             "    include /etc/nginx/fastcgi_params;\n"
             f"    fastcgi_pass 127.0.0.1:{port};\n"
             "}\n")
    nginx = Nginx(tfpm.sock, str(tfpm.dir), extra_location=extra)
    try:
        with urllib.request.urlopen(nginx.url + "/ready", timeout=5) as r:
            assert r.status == 200 and r.read() == b"ready\n"
        with urllib.request.urlopen(nginx.url + "/metrics", timeout=5) as r:
            assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
            assert b"phpfpm_up 1" in r.read()
        with urllib.request.urlopen(nginx.url + "/fpm-status?json", timeout=5) as r:
            assert json.loads(r.read())["pool"] == "www"
        with urllib.request.urlopen(nginx.url + "/ping", timeout=5) as r:
            assert r.read() == b"pong\n"
    finally:
        nginx.stop()


def test_hostile_clients_do_not_stop_the_supervisor(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1, status_listen="{dir}/status.sock",
                        status_listen_max_clients=4, status_listen_timeout="1s",
                        status_listen_max_request="2k")
    st = str(tfpm.dir / "status.sock")
    # Slowloris: 20 connections, each with a few bytes of a request.
    slow = []
    for _ in range(20):
        s = fcgi.connect(st, timeout=5)
        try:
            s.sendall(fcgi.build_request({"SCRIPT_NAME": "/ready"})[:12])
        except OSError:
            pass  # refused over max_clients: closed by the supervisor
        slow.append(s)
    t0 = time.monotonic()
    assert tfpm.status()["pools"][0]["name"] == "www"
    print(f"\npm-ctl status with 20 slowloris connections: {(time.monotonic() - t0) * 1000:.1f} ms")
    # The main socket (PHP) is untouched.
    assert fcgi.request(tfpm.sock, ECHO).status == 200
    # The held ones are closed at status_listen_timeout; then probes answer.
    wait_until(lambda: tfpm.status()["pools"][0]["health"]["status_listen"]["timed_out"] >= 4, 10 * SLOW,
               what="the slow connections timed out")
    for s in slow:
        s.close()
    wait_until(lambda: ask(st, "/ready").status == 200, 10 * SLOW, what="the listener answers again")

    # Oversized params: closed unanswered.
    s = fcgi.connect(st, timeout=5)
    s.sendall(fcgi.build_request({"SCRIPT_NAME": "/ready", "HTTP_X": "a" * 8192}))
    with pytest.raises((ConnectionError, OSError)):
        fcgi.read_response(s)
    s.close()
    # Invalid UTF-8 and control bytes in the path and the query: answered
    # (404 for an unknown path, the page for a known one), never a crash.
    for name, query in ((b"/\xff\xfe", b""), (b"/status", b"json&\xc3\x28\x00"), (b"/metrics", b"\xff")):
        s = fcgi.connect(st, timeout=5)
        s.sendall(fcgi.build_request({"SCRIPT_NAME": name, "QUERY_STRING": query, "REQUEST_URI": name}))
        r = fcgi.read_response(s)
        s.close()
        assert r.status == (404 if name.startswith(b"/\xff") else 200), (name, r.status)
    # A client that asks and never reads its answer: held at most
    # status_listen_timeout, while others are answered.
    mute = fcgi.connect(st, timeout=5)
    mute.sendall(fcgi.build_request({"SCRIPT_NAME": "/status", "QUERY_STRING": "full&html"}))
    assert ask(st, "/ready").status == 200
    mute.close()
    # Not FastCGI at all.
    s = fcgi.connect(st, timeout=5)
    s.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(100) == b""
    s.close()

    # A flood of connections that connect and leave.
    t0 = time.monotonic()
    for _ in range(300):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(st)
        s.close()
    print(f"300 connect/close on the status listener: {(time.monotonic() - t0) * 1000:.1f} ms")
    t0 = time.monotonic()
    sl = tfpm.status()["pools"][0]["health"]["status_listen"]
    print(f"pm-ctl status after the flood: {(time.monotonic() - t0) * 1000:.1f} ms; counters {sl}")
    assert sl["too_large"] >= 1 and sl["protocol_errors"] >= 1 and sl["refused_full"] >= 16
    assert ask(st, "/ready").status == 200
    log = tfpm.log_text()
    assert "status_listen" in log and "status_listen_max_clients" in log


def test_php_fpm_config_pm_status_listen(tfpm_factory):
    conf = ("[global]\nerror_log = {dir}/fpm.log\n[www]\nlisten = {dir}/www.sock\n"
            "pm = static\npm.max_children = 1\npm.status_path = /status\n"
            "pm.status_listen = {dir}/status.sock\n")
    tfpm = tfpm_factory(fpm_config=conf, fpm_args=["-R"])
    r = ask(str(tfpm.dir / "status.sock"), "/status", "json")
    assert r.status == 200 and json.loads(r.body)["pool"] == "www"
