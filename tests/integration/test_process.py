"""Process management: worker crashes, supervisor death, graceful stop,
config validation, pm-ctl."""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

import fcgi
from helpers import ALLOW_ROOT, PM_CTL, SLOW, TFPM, free_port, php_fixture, proc_alive, wait_until

ECHO = php_fixture("echo")
SLEEP = php_fixture("sleep")
CONCURRENCY = php_fixture("concurrency")


def slots(status):
    """{slot: (pid, state)} of the first pool."""
    return {p["slot"]: (p["pid"], p["state"]) for p in status["pools"][0]["processes"]}


def control_call(path, request, timeout=10):
    """The control protocol without pm-ctl: one JSON line each way."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(json.dumps(request).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        return json.loads(buf)
    finally:
        s.close()


def test_kill_9_of_a_worker_is_replaced(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=2)
    before = slots(tfpm.status())
    assert len(before) == 2
    victim_slot = 1
    victim = before[victim_slot][0]
    assert victim in tfpm.worker_pids()
    os.kill(victim, signal.SIGKILL)
    # The other worker keeps serving while the slot is being refilled.
    for i in range(20):
        r = fcgi.request(tfpm.sock, ECHO, query=f"during={i}")
        assert r.status == 200 and f'"during":"{i}"'.encode() in r.body, r

    def replaced():
        now = slots(tfpm.status())
        pid, state = now.get(victim_slot, (0, ""))
        return pid not in (0, victim) and state == "ready" and now[0] == before[0] and pid
    new_pid = wait_until(replaced, 15 * SLOW, interval=0.05, what="a replacement worker")
    assert proc_alive(new_pid)
    assert not proc_alive(victim)
    assert sorted(tfpm.worker_pids()) == sorted([before[0][0], new_pid])
    assert re.search(rf"child {victim} exited on signal 9 \(SIGKILL\)", tfpm.log_text())
    assert f"child {new_pid} started" in tfpm.log_text()
    for i in range(20):
        r = fcgi.request(tfpm.sock, ECHO, query=f"after={i}")
        assert r.status == 200 and f'"after":"{i}"'.encode() in r.body, r
    # Both processes serve: requests are spread over the two listeners'
    # acceptors, so a burst of concurrent sleepers reaches the new one too.
    results = []
    ths = [threading.Thread(target=lambda: results.append(
        fcgi.request(tfpm.sock, CONCURRENCY, query="id=x&sleep_ms=500"))) for _ in range(4)]
    for t in ths:
        t.start()
    for t in ths:
        t.join(30 * SLOW)
    assert len(results) == 4 and all(r.status == 200 for r in results)
    assert {json.loads(r.body)["pid"] for r in results} == {before[0][0], new_pid}


def test_kill_9_of_the_supervisor_stops_every_worker(tfpm_factory):
    tfpm = tfpm_factory(processes=3, threads=2)
    workers = tfpm.worker_pids()
    assert len(workers) == 3
    os.kill(tfpm.pid, signal.SIGKILL)
    tfpm.proc.wait(10)
    deadline = 2 * SLOW
    wait_until(lambda: not any(proc_alive(p) for p in workers), deadline, interval=0.02,
               what=f"every worker to exit within {deadline}s of the supervisor's death")
    # Nobody serves any more (refused, reset or closed, depending on when
    # the last holder of the listening socket went away).
    with pytest.raises(OSError):
        fcgi.request(tfpm.sock, ECHO, timeout=5)


def start_slow_request(tfpm, address, ms):
    """Sends a request that sleeps `ms` on a thread; returns once a PHP
    thread runs it. The result dict gets "r" (the response) or "e"."""
    result = {}

    def slow():
        try:
            result["r"] = fcgi.request(address, SLEEP, query=f"ms={ms}", timeout=30 * SLOW)
        except Exception as e:  # reported by the caller
            result["e"] = e

    t = threading.Thread(target=slow, daemon=True)
    t.start()
    wait_until(lambda: tfpm.status()["pools"][0]["busy_threads"] == 1, 10 * SLOW, interval=0.01,
               what="the slow request to start")
    return t, result


def test_sigquit_lets_a_slow_request_finish(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2)
    t, result = start_slow_request(tfpm, tfpm.sock, 1000)
    tfpm.send_signal(signal.SIGQUIT)
    t.join(30 * SLOW)
    assert not t.is_alive()
    assert "e" not in result, result.get("e")
    r = result["r"]
    assert r.status == 200 and r.body == b"slept 1000 ms\n", r
    rc = tfpm.wait_exit(15 * SLOW)
    assert rc == 0, f"exit code {rc}"
    assert "SIGQUIT: graceful stop" in tfpm.log_text()
    assert not tfpm.worker_pids()


@pytest.mark.parametrize("kind", ["unix", "tcp"])
def test_sigquit_refuses_new_connections_once_the_workers_drain(tfpm_factory, kind):
    # A new connection during a graceful stop is refused at once (a front
    # end retries that elsewhere, for any method) instead of waiting in the
    # listen queue until the daemon exits; the request in flight finishes.
    if kind == "tcp":
        port = free_port()
        tfpm = tfpm_factory(processes=1, threads=2, listen=f"127.0.0.1:{port}")
        address = ("127.0.0.1", port)
    else:
        tfpm = tfpm_factory(processes=1, threads=2)
        address = tfpm.sock
    t, result = start_slow_request(tfpm, address, 3000)
    tfpm.send_signal(signal.SIGQUIT)

    def refused():
        # Refused (TCP, unix) or gone (the unix socket's file); before the
        # fix each connect succeeded and waited in the queue.
        try:
            fcgi.connect(address, timeout=5).close()
            return False
        except (ConnectionRefusedError, FileNotFoundError):
            return True
        except ConnectionResetError:
            # TCP: queued just as the socket stopped listening, which resets
            # the queue; the next attempt is refused.
            return False

    wait_until(refused, 10 * SLOW, interval=0.05, what="new connections to be refused during the drain")
    assert t.is_alive(), "the slow request ended before the check"
    assert "no longer accepts connections" in tfpm.log_text()
    if kind == "unix":
        assert not os.path.exists(tfpm.sock)
    t.join(30 * SLOW)
    assert "e" not in result, result.get("e")
    assert result["r"].status == 200 and result["r"].body == b"slept 3000 ms\n", result["r"]
    assert tfpm.wait_exit(15 * SLOW) == 0
    assert "accept() failed" not in tfpm.log_text()


def test_pm_ctl_stop_is_graceful(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1)
    assert tfpm.ctl("stop").stdout.strip() == "ok"
    assert tfpm.wait_exit(15 * SLOW) == 0
    assert "pm-ctl stop: graceful stop" in tfpm.log_text()


BAD_CONFIGS = [
    # (name, pool lines, expected line, key path, message fragment)
    ("threads_zero", ["    threads: 0"], 6, "pools.www.threads", "must be >= 1"),
    ("unknown_key", ["    threads: 2", "    thraeds: 4"], 7, "pools.www.thraeds", "unknown key"),
    ("bad_bool", ["    clear_env: maybe"], 6, "pools.www.clear_env", "boolean"),
    ("bad_mode", ["    mode: turbo"], 6, "pools.www.mode", ""),
]


@pytest.mark.parametrize("name,lines,line,key,fragment", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_config_test_reports_file_line_and_key(tmp_path, name, lines, line, key, fragment):
    path = tmp_path / f"{name}.yaml"
    path.write_text("\n".join([
        "daemon:",
        "  error_log: stderr",
        "pools:",
        "  www:",
        f"    listen: {tmp_path}/www.sock",
        *lines,
    ]) + "\n")
    r = subprocess.run([str(TFPM), *ALLOW_ROOT, "--config", str(path), "--test"], capture_output=True, text=True,
                       timeout=30 * SLOW)
    assert r.returncode != 0
    out = (r.stderr + r.stdout).strip()
    m = re.match(r"^(.+):(\d+): ([\w.\[\]]+): (.+)$", out.splitlines()[0])
    assert m, out
    assert m.group(1) == str(path)
    assert int(m.group(2)) == line, out
    assert m.group(3) == key, out
    assert fragment in m.group(4), out
    assert not os.path.exists(f"{tmp_path}/www.sock"), "--test must not start anything"


def test_config_test_accepts_a_good_config(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(f"pools:\n  www:\n    listen: {tmp_path}/www.sock\n    threads: 2\n")
    r = subprocess.run([str(TFPM), *ALLOW_ROOT, "--config", str(path), "--test"], capture_output=True, text=True,
                       timeout=30 * SLOW)
    assert r.returncode == 0, r.stderr
    assert f"configuration file {path} test is successful" in r.stdout


def test_pm_ctl_status_human_output(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=3)
    assert fcgi.request(tfpm.sock, ECHO).status == 200
    # The scoreboard is updated just after the response is sent.
    wait_until(lambda: tfpm.served() == 1, 10 * SLOW, what="the request to be counted")
    out = tfpm.ctl("status").stdout
    st = tfpm.status()
    assert re.search(rf"^tfpm \S+ \(PHP 8\.4\.\d+\), pid {tfpm.pid}, up \d+ s, generation 1$", out, re.M), out
    assert re.search(rf"^pool www  listen {re.escape(tfpm.sock)}  mode classic  pm static  busy 0  idle 6  "
                     rf"requests 1$", out, re.M), out
    for p in st["pools"][0]["processes"]:
        # Its start time and requests in all threads (process recycling).
        assert re.search(rf"^  process {p['pid']}  ready +started \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d  up \d+ s  "
                         rf"requests {p['requests']}  generation 1$", out, re.M), out
    assert sum(p["requests"] for p in st["pools"][0]["processes"]) == 1
    thread_lines = re.findall(r"^    thread (\d+) +(\w+) +requests (\d+)", out, re.M)
    assert sorted(int(i) for i, _, _ in thread_lines) == [0, 0, 1, 1, 2, 2]
    assert {s for _, s, _ in thread_lines} == {"Idle"}
    assert sum(int(n) for _, _, n in thread_lines) == 1
    v = tfpm.ctl("version").stdout
    assert re.match(r"^tfpm \S+ \(PHP 8\.4\.\d+\); pm-ctl \S+$", v.strip()), v


def test_pm_ctl_status_shows_a_running_request(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2)
    result = []
    t = threading.Thread(target=lambda: result.append(
        fcgi.request(tfpm.sock, SLEEP, query="ms=1500", params={"REQUEST_URI": "/slow?ms=1500"})))
    t.start()
    try:
        out = wait_until(lambda: (lambda o: o if "Running" in o else None)(tfpm.ctl("status").stdout),
                         10 * SLOW, what="a Running thread in pm-ctl status")
        assert re.search(r"thread \d+ +Running +requests \d+ +GET /slow\?ms=1500 \(\d+ ms\)", out), out
        assert "busy 1  idle 1" in out
    finally:
        t.join(30 * SLOW)
    assert result and result[0].status == 200


def test_pm_ctl_without_daemon_exits_3(tmp_path):
    r = subprocess.run([str(PM_CTL), "--socket", str(tmp_path / "nothing.sock"), "status"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 3
    assert r.stderr.startswith("pm-ctl: ")


def test_status_running_duration_never_negative(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=4)
    stop = threading.Event()

    def load():
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            fcgi.request(tfpm.sock, CONCURRENCY, query="id=d&sleep_ms=0")

    threads = [threading.Thread(target=load, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    negative = []
    try:
        deadline = time.monotonic() + 15
        polls = 0
        while polls < 5000 and time.monotonic() < deadline and not negative:
            polls += 1
            st = control_call(tfpm.ctl_sock, {"cmd": "status"})
            for p in st["pools"][0]["processes"]:
                for th in p["threads"]:
                    if "duration_ms" in th and th["duration_ms"] < 0:
                        negative.append(th)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    print(f"{polls} status polls")
    assert not negative, f"negative duration_ms in status after {polls} polls: {negative[:3]}"


def test_sigusr1_reopens_the_log_file(tfpm_factory):
    # error_log in a file (as logrotate sees it): after the file is moved
    # away and SIGUSR1 sent, new messages go to a new file at the path.
    tfpm = tfpm_factory(processes=1, threads=1, daemon={"error_log": "{dir}/daemon.log"})
    log = tfpm.dir / "daemon.log"
    assert "ready to handle connections" in log.read_text()
    rotated = tfpm.dir / "daemon.log.1"
    log.rename(rotated)
    tfpm.send_signal(signal.SIGUSR1)
    wait_until(log.exists, 10 * SLOW, what="a new log file after SIGUSR1")
    assert "reopening log files (SIGUSR1)" in rotated.read_text() + log.read_text()
    assert tfpm.stop(signal.SIGQUIT) == 0
    assert "SIGQUIT: graceful stop" in log.read_text()
    assert "SIGQUIT: graceful stop" not in rotated.read_text()


@pytest.mark.sanitize
class PersistentPeer:
    """A TCP listener for tests/php/persistent: records, per accepted
    connection, the tags written on it and whether it was closed. A
    pfsockopen() socket lives as long as the PHP thread's interpreter, so
    connections map to interpreters."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.lock = threading.Lock()
        self.conns = []  # [{"tags": [...], "closed": bool}]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.server.accept()
            except OSError:
                return
            rec = {"tags": [], "closed": False}
            with self.lock:
                self.conns.append(rec)
            threading.Thread(target=self._read, args=(c, rec), daemon=True).start()

    def _read(self, c, rec):
        buf = b""
        while True:
            data = c.recv(4096)
            if not data:
                with self.lock:
                    rec["closed"] = True
                return
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                with self.lock:
                    rec["tags"].append(line.decode())

    def view(self):
        with self.lock:
            return [(list(r["tags"]), r["closed"]) for r in self.conns]

    def close(self):
        self.server.close()


PERSISTENT = php_fixture("persistent")


def persistent_request(tfpm, peer, tag, fatal=False):
    query = f"port={peer.port}&tag={tag}" + ("&fatal=1" if fatal else "")
    return fcgi.request(tfpm.sock, PERSISTENT, query=query)


@pytest.mark.sanitize
def test_max_requests_recycles_thread_interpreters(tfpm_factory):
    # One thread, max_requests 3: requests 1-3 share one interpreter (one
    # persistent socket), then the interpreter is replaced (its socket
    # closes) and requests 4-6 use a new one. Ignoring max_requests would
    # leave one connection with all six tags.
    tfpm = tfpm_factory(processes=1, threads=1, max_requests=3)
    peer = PersistentPeer()
    try:
        for i in range(1, 7):
            r = persistent_request(tfpm, peer, f"r{i}")
            assert r.status == 200 and r.body == b"ok", r
        want = [(["r1", "r2", "r3"], True), (["r4", "r5", "r6"], True)]
        try:
            wait_until(lambda: peer.view() == want, 10 * SLOW, what="two interpreters")
        finally:
            print("connections (tags, closed):", peer.view())
    finally:
        peer.close()
    assert tfpm.alive() and len(tfpm.worker_pids()) == 1
    assert "exited" not in tfpm.log_text()


@pytest.mark.sanitize
def test_a_fatal_error_recycles_the_threads_interpreter(tfpm_factory):
    # A fatal error unwinds the engine mid-request; whatever the thread's
    # interpreter holds across requests (here a persistent socket; in real
    # life a persistent database link inside a transaction) is dropped with
    # it: the next request on that thread starts in a fresh interpreter.
    tfpm = tfpm_factory(processes=1, threads=1)
    peer = PersistentPeer()
    try:
        assert persistent_request(tfpm, peer, "a").body == b"ok"
        assert persistent_request(tfpm, peer, "b").body == b"ok"
        r = persistent_request(tfpm, peer, "c", fatal=True)
        assert r.status == 500, r
        assert persistent_request(tfpm, peer, "d").body == b"ok"
        want = [(["a", "b", "c"], True), (["d"], False)]
        try:
            wait_until(lambda: peer.view() == want, 10 * SLOW, what="a new interpreter")
        finally:
            print("connections (tags, closed):", peer.view())
    finally:
        peer.close()
    assert tfpm.alive() and len(tfpm.worker_pids()) == 1
