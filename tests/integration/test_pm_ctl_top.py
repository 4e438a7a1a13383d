"""`pm-ctl top --once` against a real tfpm (tools/ctl/top.h): a slow request in
flight shows with its URI and a duration, slowest first; once finished it is
among the slowest recent requests; a hostile URI never reaches the terminal
raw; two pools each have their row and --pool picks one."""
import re
import subprocess
import threading
import time

import fcgi
from helpers import PM_CTL, SLOW, php_fixture, wait_until

SLEEP = php_fixture("sleep")
# "DURATION" column: 850ms, 1.23s, 2m05s
DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)$")


def top(tfpm, *args, check=True):
    """Runs pm-ctl top --once; returns (returncode, stdout bytes, stderr text)."""
    r = subprocess.run([str(PM_CTL), "--socket", tfpm.ctl_sock, "top", "--once", "--interval", "0.2", *args],
                       capture_output=True, timeout=20 * SLOW)
    if check:
        assert r.returncode == 0, f"pm-ctl top failed ({r.returncode}): {r.stderr.decode(errors='replace')}"
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def sections(out):
    """The frame's parts: pool rows (by name), busy lines and recent lines, each
    a list of split columns (URI last, kept whole)."""
    text = out.decode()
    lines = text.splitlines()
    pools, busy, recent, part = {}, [], [], None
    for line in lines:
        if line.startswith("POOL ") and "PROCS" in line:
            part = "pools"
            continue
        if line.startswith("BUSY THREADS"):
            part = "busy"
            continue
        if line.startswith("SLOWEST RECENT REQUESTS"):
            part = "recent"
            continue
        if not line.strip() or line.startswith("POOL ") or line.startswith("("):
            continue
        if part == "pools":
            cols = line.split()
            pools[cols[0]] = cols
        elif part == "busy":
            busy.append(line.split(None, 6))
        elif part == "recent":
            recent.append(line.split(None, 7))
    return pools, busy, recent


def seconds(text):
    m = DURATION.match(text)
    assert m, f"not a duration: {text!r}"
    return float(m[1]) / (1000 if m[2] == "ms" else 1)


class Slow:
    """A request in flight on another thread: sleep.php?ms=..., optionally with
    its own REQUEST_URI (bytes, as a hostile client would send)."""

    def __init__(self, sock, ms, uri=None):
        self.started = time.monotonic()
        self.result = None
        params = {"REQUEST_URI": uri} if uri is not None else None
        self.thread = threading.Thread(
            target=lambda: setattr(self, "result", fcgi.request(sock, SLEEP, query=f"ms={ms}", params=params)),
            daemon=True)
        self.thread.start()

    def finish(self):
        self.thread.join(60 * SLOW)
        assert self.result is not None and self.result.status == 200


def running_uris(tfpm):
    return [t.get("uri") for pool in tfpm.status()["pools"] for p in pool["processes"] for t in p["threads"]
            if t["state"] == "Running"]


def test_slow_requests_in_flight_slowest_first_then_among_the_recent(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=3)
    first = Slow(tfpm.sock, 3000)
    wait_until(lambda: "/index.php?ms=3000" in running_uris(tfpm), 10 * SLOW, what="the first slow request to run")
    second = Slow(tfpm.sock, 2500)
    wait_until(lambda: "/index.php?ms=2500" in running_uris(tfpm), 10 * SLOW, what="the second to run")

    _, out, _ = top(tfpm)
    assert b"\x1b" not in out, "--once prints no escape sequence"
    pools, busy, _ = sections(out)
    assert list(pools) == ["www"]
    assert pools["www"][1] == "1" and pools["www"][2] == "2", pools["www"]  # 1 process, 2 busy
    uris = [b[6] for b in busy]
    assert uris == ["/index.php?ms=3000", "/index.php?ms=2500"], out.decode()
    worker = tfpm.worker_pids()
    for b in busy:
        assert b[0] == "www" and int(b[1]) in worker
        assert b[5] == "GET"
    # Each duration is positive and no longer than the client has waited,
    # the first started the longer one.
    d_first, d_second = seconds(busy[0][3]), seconds(busy[1][3])
    assert 0 < d_second <= d_first <= time.monotonic() - first.started + 0.01

    first.finish()
    second.finish()
    _, out, _ = top(tfpm)
    _, busy, recent = sections(out)
    assert busy == []
    recent_uris = [r[7] for r in recent]
    assert recent_uris[:2] == ["/index.php?ms=3000", "/index.php?ms=2500"], out.decode()
    assert recent[0][4] == "200"
    assert seconds(recent[0][3]) >= 3.0


def test_hostile_uri_is_shown_escaped(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2)
    hostile = b"/index.php?x=\x1b[2J\x1b]0;pwned\x07\xff\xc2\x9bZ\xe2\x80\xaeevil"
    slow = Slow(tfpm.sock, 2000, uri=hostile)
    wait_until(lambda: any(u and "pwned" in u for u in running_uris(tfpm)), 10 * SLOW, what="the request to run")
    _, out, _ = top(tfpm)
    for raw in (b"\x1b", b"\x07", b"\xc2\x9b", b"\xe2\x80\xae", b"\x9b"):
        assert raw not in out, f"{raw!r} reached the terminal: {out!r}"
    out.decode("utf-8")  # valid UTF-8 throughout
    _, busy, _ = sections(out)
    # The daemon turned \xff into U+FFFD (valid UTF-8 in JSON); pm-ctl
    # escapes every control byte and the direction override.
    assert busy[0][6] == "/index.php?x=\\x1B[2J\\x1B]0;pwned\\x07\ufffd\\xC2\\x9BZ\\u{202E}evil", busy
    slow.finish()
    _, out, _ = top(tfpm)
    assert b"\x1b" not in out and b"\xe2\x80\xae" not in out
    _, _, recent = sections(out)
    assert any(r[7].startswith("/index.php?x=\\x1B[2J") for r in recent), out.decode()


def test_two_pools_rates_and_pool_filter(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2,
                        pools={"api": {"listen": "{dir}/api.sock", "processes": 2, "threads": 2}})
    api_sock = str(tfpm.dir / "api.sock")
    slow = Slow(api_sock, 3000)
    wait_until(lambda: "/index.php?ms=3000" in running_uris(tfpm), 10 * SLOW, what="the api request to run")
    # Requests on www all through top's interval.
    stop = threading.Event()

    def load():
        while not stop.is_set():
            assert fcgi.request(tfpm.sock, SLEEP, query="ms=0").status == 200

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    try:
        wait_until(lambda: tfpm.served() > 5, 10 * SLOW, what="www to serve")
        _, out, _ = top(tfpm)
    finally:
        stop.set()
        loader.join(30 * SLOW)
    pools, busy, _ = sections(out)
    assert sorted(pools) == ["api", "www"], out.decode()
    assert pools["api"][1] == "2" and pools["www"][1] == "1"
    assert float(pools["www"][5]) > 0, f"www served requests during the interval: {pools['www']}"
    assert pools["api"][11] == "0", "no worker process crashed"
    assert pools["api"][12].endswith(("K", "M", "G")), "the pool's resident memory"
    assert any(b[0] == "api" and b[6] == "/index.php?ms=3000" for b in busy), out.decode()

    _, out, _ = top(tfpm, "--pool", "www")
    pools, busy, _ = sections(out)
    assert list(pools) == ["www"]
    assert all(b[0] == "www" for b in busy)
    assert b"ms=3000" not in out

    code, _, err = top(tfpm, "--pool", "nope", check=False)
    assert code == 1 and "no pool 'nope'" in err
    slow.finish()

    # pm-ctl status is unchanged: the detail keys only come with "detail".
    st = tfpm.status()
    assert all("listen_queue" not in p for p in st["pools"])
    assert all("rss_bytes" not in proc for p in st["pools"] for proc in p["processes"])


def test_usage_and_connection_errors(tfpm_factory, tmp_path):
    r = subprocess.run([str(PM_CTL), "--socket", str(tmp_path / "none.sock"), "top", "--once"],
                       capture_output=True, text=True, timeout=10 * SLOW)
    assert r.returncode == 3 and "pm-ctl:" in r.stderr
    for bad in (["--interval", "0"], ["--interval", "1x"], ["--bogus"]):
        r = subprocess.run([str(PM_CTL), "top", "--once", *bad], capture_output=True, text=True, timeout=10 * SLOW)
        assert r.returncode == 2, (bad, r.stderr)


def test_live_view_on_a_terminal_quits_on_q_and_on_ctrl_c_and_restores_it(tfpm_factory):
    """On a pty: frames are drawn with home/clear, the cursor hidden; `q` and
    SIGINT (Ctrl-C) each end it with the terminal's modes as they were."""
    import os
    import pty
    import select
    import signal
    import termios

    tfpm = tfpm_factory(processes=1, threads=2)
    for stop in ("q", signal.SIGINT):
        master, slave = pty.openpty()
        before = termios.tcgetattr(slave)
        proc = subprocess.Popen([str(PM_CTL), "--socket", tfpm.ctl_sock, "top", "--interval", "0.2"],
                                stdin=slave, stdout=slave, stderr=subprocess.PIPE)
        seen = b""
        try:
            def frames():
                nonlocal seen
                assert proc.poll() is None, proc.stderr.read()
                if select.select([master], [], [], 0.1)[0]:
                    seen += os.read(master, 65536)
                return seen.count(b"BUSY THREADS") >= 2
            wait_until(frames, 10 * SLOW, what="two frames on the pty")
            # Raw mode while it runs: no echo, no line buffering.
            during = termios.tcgetattr(slave)
            assert not during[3] & termios.ECHO and not during[3] & termios.ICANON
            if stop == "q":
                os.write(master, b"q")
            else:
                proc.send_signal(stop)
            assert proc.wait(10 * SLOW) == 0, proc.stderr.read()
            after = termios.tcgetattr(slave)
            assert after == before, "the terminal's modes are restored"
            # It has exited: all it wrote is in the pty's buffer.
            while not seen.endswith(b"\x1b[?25h"):
                assert select.select([master], [], [], 5 * SLOW)[0], f"no cursor shown again: {seen[-200:]!r}"
                seen += os.read(master, 65536)
            assert seen.startswith(b"\x1b[?25l"), "the cursor is hidden"
            assert b"\x1b[H" in seen
            assert seen.endswith(b"\x1b[?25h"), "and shown again"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)
            os.close(slave)
