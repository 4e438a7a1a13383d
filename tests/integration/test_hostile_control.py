"""The control socket never takes the supervisor down (issue 13): requests
with fields of the wrong type, replies holding bytes that are not UTF-8,
requests too long, and clients that connect and never finish."""
import json
import socket
import time

import pytest

import fcgi
from helpers import SLOW, php_fixture, wait_until

ECHO = php_fixture("echo")


def raw_call(path, data, timeout=10):
    """Sends `data` as is; returns the reply line parsed (or None on EOF)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout * SLOW)
    s.connect(path)
    try:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before reading it all: read the answer
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        return json.loads(buf) if buf else None
    finally:
        s.close()


def assert_serving(tfpm, pid):
    assert tfpm.alive() and tfpm.pid == pid, tfpm.log_text()
    assert tfpm.status()["ok"] is True
    assert fcgi.request(tfpm.sock, ECHO).status == 200


WRONG_TYPES = [
    (b'{"cmd":"reload","wait":"no"}\n', 'reload: "wait" must be true or false'),
    (b'{"cmd":"reload","wait":1}\n', 'reload: "wait" must be true or false'),
    (b'{"cmd":"restart","pool":"www","wait":null}\n', 'restart: "wait" must be true or false'),
    (b'{"cmd":"restart","pool":["www"]}\n', 'restart needs a string "pool"'),
    (b'{"cmd":"stop","fast":"yes"}\n', 'stop: "fast" must be true or false'),
    (b'{"cmd":"config-test","file":{"a":1}}\n', 'config-test needs a string "file"'),
    (b'{"cmd":"status","cmd":7}\n', 'request needs a string "cmd"'),
    (b'["cmd","status"]\n', "request must be a JSON object"),
    (b'{"cmd":"st\xe9tus"}\n', "request is not valid JSON"),
]


@pytest.mark.sanitize
def test_fields_of_the_wrong_type_get_an_error_reply(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1)
    pid = tfpm.pid
    for data, error in WRONG_TYPES:
        reply = raw_call(tfpm.ctl_sock, data)
        assert reply == {"ok": False, "error": error}, (data, reply)
    assert_serving(tfpm, pid)
    # Nothing was reloaded, restarted or stopped.
    assert tfpm.status()["generation"] == 1


@pytest.mark.sanitize
def test_an_error_reply_with_latin1_bytes_is_valid_json(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1)
    pid = tfpm.pid
    good = tfpm.config_path.read_bytes()
    bad = good.replace(b"  www:\n", b"  www:\n    caf\xe9: 1\n", 1)
    assert bad != good
    other = tfpm.dir / "latin1.yaml"
    other.write_bytes(bad)
    # config-test of that file, then a reload of it: refused, not a crash.
    r = tfpm.ctl("config-test", str(other), check=False)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "pools.www.caf\ufffd: unknown key" in r.stderr, r.stderr
    tfpm.config_path.write_bytes(bad)
    r = tfpm.ctl("reload", check=False)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "unknown key" in r.stderr, r.stderr
    assert_serving(tfpm, pid)
    tfpm.config_path.write_bytes(good)
    assert tfpm.ctl("reload").returncode == 0
    assert tfpm.status()["generation"] == 2


def test_a_request_too_long_is_refused(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1)
    reply = raw_call(tfpm.ctl_sock, b'{"cmd":"status","pad":"' + b"x" * (1 << 20))
    assert reply == {"ok": False, "error": "request too long (at most 65536 bytes)"}, reply
    assert tfpm.status()["control_requests_too_long"] == 1
    assert "refused a request longer than 65536 bytes" in tfpm.log_text()
    assert_serving(tfpm, tfpm.pid)


def test_clients_that_never_finish_cannot_lock_pm_ctl_out(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1)
    # More half-sent requests than the daemon keeps (64): it drops the
    # oldest ones to hear new clients, and pm-ctl keeps working.
    idle = []
    for _ in range(100):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(tfpm.ctl_sock)
        try:
            s.sendall(b'{"cmd":')
        except (BrokenPipeError, ConnectionResetError):
            pass  # already dropped to make room
        idle.append(s)
    try:
        assert tfpm.ctl("status", "--json").returncode == 0
        st = tfpm.status()
        assert st["control_clients_dropped"] >= 100 - 64, st["control_clients_dropped"]

        def dropped(s):
            s.settimeout(0)
            try:
                return s.recv(1) == b""
            except BlockingIOError:
                return False
            except ConnectionResetError:
                return True  # dropped before the daemon read what it sent

        wait_until(lambda: sum(dropped(s) for s in idle[:30]) == 30, 10 * SLOW,
                   what="the oldest idle clients to be dropped")
    finally:
        for s in idle:
            s.close()
    assert_serving(tfpm, tfpm.pid)


def test_control_client_limits_are_keys(tfpm_factory):
    """control_max_clients and control_timeout (daemon keys; before: fixed
    at 64 clients and 10 s): with 4 clients at most and 1 s, a fifth client
    drops the oldest, and a client that sends nothing is dropped after the
    timeout, each counted and logged."""
    tfpm = tfpm_factory(processes=1, threads=1, control_max_clients=4, control_timeout="1s")
    idle = []
    try:
        for _ in range(5):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(tfpm.ctl_sock)
            s.sendall(b'{"cmd":')
            idle.append(s)
        # The fifth made room by dropping the first (its request not read).
        idle[0].settimeout(10 * SLOW)
        try:
            assert idle[0].recv(1) == b""
        except ConnectionResetError:
            pass
        # The other four are dropped once they have waited 1 s.
        for s in idle[1:]:
            s.settimeout(10 * SLOW)
            try:
                assert s.recv(1) == b"", "a client that sent nothing got an answer"
            except ConnectionResetError:
                pass
        wait_until(lambda: tfpm.status()["control_clients_dropped"] >= 5, 10 * SLOW,
                   what="five dropped control clients")
        log = tfpm.log_text()
        assert "control socket: 4 clients connected; dropping the one that waited longest" in log, log
        assert "dropping a client that did not send its request within 1 s (control_timeout" in log, log
    finally:
        for s in idle:
            s.close()
    assert_serving(tfpm, tfpm.pid)
