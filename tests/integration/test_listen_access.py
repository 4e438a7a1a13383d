"""Who may reach a pool, and what its PHP may touch (docs/security.md "Who
may connect to a pool" and "Filesystem confinement"):

- listen_allowed_clients: a TCP client from an address outside the list is
  closed right after accept, before a byte is read, counted in
  clients_refused and logged at most once a second; one inside is served.
- listen_acl_users / listen_acl_groups: POSIX ACL entries on a unix socket
  whose mode lets nobody else in: a listed user (or a member of a listed
  group) connects, any other user gets EACCES from connect().
- confine (Landlock): a PHP script reads only under `read`, writes only
  under `write`; anything else fails with EACCES, even for root.
"""
import ctypes
import grp
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import fcgi
from helpers import SLOW, free_port, php_fixture, wait_until

ECHO = php_fixture("echo")


def limits(tfpm):
    return tfpm.status()["pools"][0]["limits"]


def refused_from(host, port, source, family=socket.AF_INET):
    """Connects from `source` and sends a request: True if tfpm closed the
    connection without answering."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(10 * SLOW)
    try:
        s.bind((source, 0))
        s.connect((host, port))
        try:
            s.sendall(fcgi.build_request({"SCRIPT_FILENAME": str(ECHO), "REQUEST_METHOD": "GET"}))
        except (BrokenPipeError, ConnectionResetError):
            return True
        try:
            return s.recv(65536) == b""
        except ConnectionResetError:
            return True
    finally:
        s.close()


# ---------------------------------------------------------------- allowed_clients

def test_allowed_clients_serves_listed_addresses_and_closes_the_rest(tfpm_factory):
    port = free_port()
    tfpm = tfpm_factory(listen=f"127.0.0.1:{port}", listen_allowed_clients=["127.0.0.1", "10.0.0.0/8"],
                        processes=1, threads=2)
    r = fcgi.request(("127.0.0.1", port), str(ECHO), query="a=1")
    assert r.status == 200 and b'"a":"1"' in r.body, r
    assert limits(tfpm)["clients_refused"] == 0
    # 127.0.0.2 is on the loopback interface too (127.0.0.0/8), but not listed.
    assert refused_from("127.0.0.1", port, "127.0.0.2")
    wait_until(lambda: limits(tfpm)["clients_refused"] >= 1, 10 * SLOW, what="clients_refused >= 1")
    assert "connection refused: client 127.0.0.2 is not in listen_allowed_clients" in tfpm.log_text()
    # Still serving the listed client.
    r = fcgi.request(("127.0.0.1", port), str(ECHO), query="b=2")
    assert r.status == 200 and b'"b":"2"' in r.body, r


def test_refused_clients_are_counted_each_and_logged_rate_limited(tfpm_factory):
    port = free_port()
    tfpm = tfpm_factory(listen=f"127.0.0.1:{port}", listen_allowed_clients=["127.0.0.1"], processes=1, threads=2)
    n = 60
    started = time.monotonic()
    for _ in range(n):
        assert refused_from("127.0.0.1", port, "127.0.0.3")
    elapsed = time.monotonic() - started
    wait_until(lambda: limits(tfpm)["clients_refused"] >= n, 10 * SLOW, what=f"clients_refused >= {n}")
    assert limits(tfpm)["clients_refused"] == n
    lines = [l for l in tfpm.log_text().splitlines() if "client 127.0.0.3 is not in listen_allowed_clients" in l]
    # At most one line per second (plus the first).
    assert 1 <= len(lines) <= int(elapsed) + 2, (len(lines), elapsed)
    assert len(lines) < n


def test_allowed_clients_on_a_dual_stack_listener(tfpm_factory):
    # `listen: PORT` takes IPv4 clients as ::ffff:a.b.c.d: the IPv4 entry
    # matches them; an IPv6 client (::1) is not listed.
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    port = free_port()
    tfpm = tfpm_factory(listen=str(port), listen_allowed_clients=["127.0.0.1"], processes=1, threads=2)
    r = fcgi.request(("127.0.0.1", port), str(ECHO), query="v4=1")
    assert r.status == 200 and b'"v4":"1"' in r.body, r
    try:
        assert refused_from("::1", port, "::1", socket.AF_INET6)
    except OSError as e:
        pytest.skip(f"no IPv6 loopback: {e}")
    wait_until(lambda: limits(tfpm)["clients_refused"] >= 1, 10 * SLOW, what="clients_refused >= 1")
    assert "client ::1 is not in listen_allowed_clients" in tfpm.log_text()


def test_a_failed_pool_refuses_unlisted_clients_too(tfpm_factory):
    # While no worker stays up the supervisor answers the pool's
    # connections with 503 itself; the list holds there as well.
    from test_crash_loop import CLASSIC, crasher_pool, pool_pids
    import signal
    port = free_port()
    tfpm = tfpm_factory(**crasher_pool("{dir}/crash", processes=1, threads=2, failure_threshold=3,
                                       failure_window="2s"),
                        listen=f"127.0.0.1:{port}", listen_allowed_clients=["127.0.0.1"])
    r = fcgi.request(("127.0.0.1", port), CLASSIC)
    assert r.status == 200, r
    (tfpm.dir / "crash").write_text("")
    os.kill(pool_pids(tfpm)[0], signal.SIGKILL)
    wait_until(lambda: tfpm.status()["pools"][0]["health"]["state"] == "failed", 30 * SLOW,
               what="the pool to be marked failed")
    before = limits(tfpm)["clients_refused"]
    for _ in range(10):
        assert refused_from("127.0.0.1", port, "127.0.0.2")
    wait_until(lambda: limits(tfpm)["clients_refused"] >= before + 10, 10 * SLOW, what="clients_refused + 10")
    assert "[pool www] connection refused: client 127.0.0.2 is not in listen_allowed_clients" in tfpm.log_text()


def test_allowed_clients_config_errors_name_the_place(tfpm_factory):
    t = tfpm_factory(listen="127.0.0.1:9", listen_allowed_clients=["127.0.0.1", "10.0.0.1/8"], wait_ready=False)
    assert t.wait_exit(10 * SLOW) != 0
    assert "pools.www.listen_allowed_clients[1]: has address bits set past its prefix length" in t.log_text()


# ---------------------------------------------------------------- ACLs

ACL_USERS = ("tfpm-it-acl-u", "tfpm-it-acl-g", "tfpm-it-acl-n")

CONNECT = r"""
import errno, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
"""


@pytest.fixture(scope="module")
def acl_users():
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("needs root and useradd")
    made = []
    for name in ACL_USERS:
        subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["useradd", "--system", "--no-create-home", "--user-group", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True)
        made.append(pwd.getpwnam(name))
    yield made
    for name in ACL_USERS:
        subprocess.run(["userdel", name], capture_output=True)


def connect_as(user, path):
    out = subprocess.run([sys.executable, "-c", CONNECT, path], user=user.pw_uid, group=user.pw_gid,
                         extra_groups=[], capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def test_acl_users_and_groups_may_connect_and_no_one_else(tfpm_factory, acl_users):
    u, g, n = acl_users
    tfpm = tfpm_factory(listen="{dir}/acl.sock", listen_mode="0600", listen_acl_users=[u.pw_name],
                        listen_acl_groups=[grp.getgrgid(g.pw_gid).gr_name], processes=1, threads=2)
    tfpm.dir.chmod(0o711)  # traversable, so that only the socket's own permissions decide
    path = str(tfpm.dir / "acl.sock")
    st = os.stat(path)
    assert st.st_uid == 0  # the owner stays (php-fpm does not chown with ACLs)
    assert os.getxattr(path, "system.posix_acl_access")  # an extended ACL is set
    assert connect_as(u, path) == "connected"
    assert connect_as(g, path) == "connected"
    assert connect_as(n, path) == "EACCES"
    # And the listed user is served, not only connected.
    r = fcgi.request(path, str(ECHO), query="acl=1")
    assert r.status == 200 and b'"acl":"1"' in r.body, r


def test_without_acl_the_same_mode_keeps_them_out(tfpm_factory, acl_users):
    # The control for the test above: mode 0600 alone refuses every one of them.
    u, g, n = acl_users
    tfpm = tfpm_factory(listen="{dir}/plain.sock", listen_mode="0600", processes=1, threads=2)
    tfpm.dir.chmod(0o711)
    path = str(tfpm.dir / "plain.sock")
    for user in (u, g, n):
        assert connect_as(user, path) == "EACCES"


def test_acl_unknown_user_refuses_the_start(tfpm_factory, acl_users):
    t = tfpm_factory(listen="{dir}/x.sock", listen_acl_users=["tfpm-it-no-such-user"], wait_ready=False)
    assert t.wait_exit(10 * SLOW) != 0
    assert re.search(r"tfpm\.yaml:\d+: pools\.www\.listen_acl_users: no such user tfpm-it-no-such-user",
                     t.log_text()), t.log_text()


# ---------------------------------------------------------------- Landlock

FS = r"""<?php
$op = $_GET['op']; $f = $_GET['f'];
$r = $op === 'read' ? @file_get_contents($f) : @file_put_contents($f, 'x');
$e = error_get_last();
echo json_encode(['ok' => $r !== false, 'error' => $e['message'] ?? '']);
"""


def landlock_abi():
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))  # SYS_landlock_create_ruleset


@pytest.fixture
def fs_tree():
    d = Path(tempfile.mkdtemp(prefix="tfpm-it-ll-", dir="/tmp"))
    d.chmod(0o755)
    (d / "app").mkdir()
    (d / "app" / "fs.php").write_text(FS)
    (d / "app" / "inside.txt").write_text("inside\n")
    (d / "data").mkdir()
    (d / "open").mkdir()  # mode 0777 below, outside every rule
    (d / "outside.txt").write_text("outside\n")
    for p in d.rglob("*"):
        p.chmod(0o777 if p.is_dir() else 0o644)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def fs(tfpm, tree, op, path):
    r = fcgi.request(tfpm.sock, str(tree / "app" / "fs.php"), query=f"op={op}&f={path}")
    assert r.status == 200, r
    return json.loads(r.body)


@pytest.mark.skipif(landlock_abi() < 1, reason="the kernel has no Landlock")
def test_confine_limits_php_to_read_and_write_paths(tfpm_factory, fs_tree):
    tfpm = tfpm_factory(confine={"read": [str(fs_tree / "app")], "write": [str(fs_tree / "data")]},
                        processes=1, threads=2)
    assert fs(tfpm, fs_tree, "read", fs_tree / "app" / "inside.txt")["ok"]
    out = fs(tfpm, fs_tree, "read", fs_tree / "outside.txt")
    assert not out["ok"] and "Permission denied" in out["error"], out
    # World-readable system files too, though the worker runs as root here.
    out = fs(tfpm, fs_tree, "read", "/etc/passwd")
    assert not out["ok"] and "Permission denied" in out["error"], out
    assert fs(tfpm, fs_tree, "write", fs_tree / "data" / "new.txt")["ok"]
    assert (fs_tree / "data" / "new.txt").read_text() == "x"
    out = fs(tfpm, fs_tree, "write", fs_tree / "app" / "new.txt")
    assert not out["ok"] and "Permission denied" in out["error"], out
    assert not (fs_tree / "app" / "new.txt").exists()
    out = fs(tfpm, fs_tree, "write", fs_tree / "outside.txt")
    assert not out["ok"] and "Permission denied" in out["error"], out
    assert (fs_tree / "outside.txt").read_text() == "outside\n"
    # The implicit paths PHP needs still work: /dev/urandom, /dev/null.
    assert fs(tfpm, fs_tree, "read", "/proc/self/status")["ok"]
    assert fs(tfpm, fs_tree, "write", "/dev/null")["ok"]


WORKER_FS = r"""<?php
while (tfpm_handle_request(function () {
    $op = $_GET['op']; $f = $_GET['f'];
    $r = $op === 'read' ? @file_get_contents($f) : @file_put_contents($f, 'w');
    $e = error_get_last();
    error_clear_last();
    echo json_encode(['ok' => $r !== false, 'error' => $e['message'] ?? '']);
})) {}
"""


@pytest.mark.skipif(landlock_abi() < 1, reason="the kernel has no Landlock")
def test_confine_holds_in_worker_mode_and_for_the_pools_user(tfpm_factory, fs_tree):
    # A worker script (mode: worker) running as an unprivileged pool user.
    app = fs_tree / "app" / "worker.php"
    app.write_text(WORKER_FS)
    app.chmod(0o644)
    tfpm = tfpm_factory(mode="worker", worker={"script": str(app)}, user="nobody",
                        confine={"read": [str(fs_tree / "app")], "write": [str(fs_tree / "data")]},
                        processes=1, threads=2)

    def call(op, path):
        r = fcgi.request(tfpm.sock, str(app), query=f"op={op}&f={path}")
        assert r.status == 200, r
        return json.loads(r.body)

    assert call("read", fs_tree / "app" / "inside.txt")["ok"]
    out = call("read", fs_tree / "outside.txt")  # mode 0644: DAC would allow it
    assert not out["ok"] and "Permission denied" in out["error"], out
    assert call("write", fs_tree / "data" / "w.txt")["ok"]
    out = call("write", fs_tree / "open" / "w.txt")  # mode 0777: DAC would allow it
    assert not out["ok"] and "Permission denied" in out["error"], out
    assert not (fs_tree / "open" / "w.txt").exists()


def test_without_confine_the_same_script_reads_everything(tfpm_factory, fs_tree):
    # The control for the test above.
    tfpm = tfpm_factory(processes=1, threads=2)
    assert fs(tfpm, fs_tree, "read", fs_tree / "outside.txt")["ok"]
    assert fs(tfpm, fs_tree, "read", "/etc/passwd")["ok"]
    assert fs(tfpm, fs_tree, "write", fs_tree / "app" / "new.txt")["ok"]


@pytest.mark.skipif(landlock_abi() < 1, reason="the kernel has no Landlock")
def test_confine_with_a_missing_path_refuses_the_start(tfpm_factory, fs_tree):
    t = tfpm_factory(confine={"read": [str(fs_tree / "nope")]}, processes=1, threads=1, wait_ready=False)
    assert t.wait_exit(20 * SLOW) != 0
    assert re.search(rf"tfpm\.yaml:\d+: pools\.www\.confine\.read: {fs_tree}/nope: No such file or directory",
                     t.log_text()), t.log_text()
