"""Per-pool isolation (docs/security.md "Isolation"): workers switch to
their pool's user before PHP starts, cannot switch back, cannot read another
pool's files, keep their limits and log files, and still die with a killed
supervisor. Two pools run as two users this module creates (useradd) and
removes. Each attempt is made from PHP and must fail with EACCES/EPERM."""
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

import fcgi
from helpers import ALLOW_ROOT, SLOW, TFPM, php_fixture, proc_alive, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("useradd") is None,
                                reason="needs root and useradd")

SLEEP = php_fixture("sleep")
USERS = ("tfpm-it-a", "tfpm-it-b")

WHOAMI = r"""<?php
$s = file_get_contents('/proc/self/status');
preg_match('/^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m', $s, $uid);
preg_match('/^CapEff:\s+([0-9a-f]+)/m', $s, $cap);
$kill = @posix_kill(posix_getppid(), 0);
$kill_errno = posix_get_last_error();
$setuid = @posix_setuid(0);
$setuid_errno = posix_get_last_error();
echo json_encode([
  'uid' => posix_getuid(), 'euid' => posix_geteuid(), 'gid' => posix_getgid(), 'egid' => posix_getegid(),
  'groups' => posix_getgroups(), 'status_uids' => array_map('intval', array_slice($uid, 1)),
  'cap_eff' => $cap[1], 'setuid0' => $setuid, 'setuid0_errno' => $setuid_errno,
  'kill_supervisor' => $kill, 'kill_errno' => $kill_errno,
  'user_env' => getenv('USER'), 'home_env' => getenv('HOME'),
]);
"""

READ = r"""<?php
$r = @file_get_contents($_GET['f']);
$e = error_get_last();
echo json_encode(['ok' => $r !== false, 'data' => $r === false ? null : $r, 'error' => $e['message'] ?? '']);
"""


@pytest.fixture(scope="module")
def users():
    made = []
    for name in USERS:
        subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["useradd", "--system", "--no-create-home", "--user-group", "--home-dir", f"/nonexistent/{name}",
                        "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True)
        made.append(pwd.getpwnam(name))
    yield made
    for name in USERS:
        subprocess.run(["userdel", name], capture_output=True)


@pytest.fixture(scope="module")
def docroot(users):
    """World-readable scripts, and one secret per user (mode 0600)."""
    d = Path(tempfile.mkdtemp(prefix="tfpm-it-iso-", dir="/tmp"))
    d.chmod(0o755)
    for name, text in (("whoami.php", WHOAMI), ("read.php", READ)):
        (d / name).write_text(text)
        (d / name).chmod(0o644)
    for u in users:
        secret = d / f"secret-{u.pw_name}"
        secret.write_text(f"secret of {u.pw_name}\n")
        os.chown(secret, u.pw_uid, u.pw_gid)
        secret.chmod(0o600)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def two_pools(users, **www):
    a, b = users
    conf = {"user": a.pw_name, "processes": 1, "threads": 2, **www}
    pools = {"b": {"listen": "{dir}/b.sock", "user": b.pw_name, "processes": 1, "threads": 2}}
    return conf, pools


def pool_pids(tfpm, pool):
    out = []
    for pid in tfpm.worker_pids():
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--pool" in args and args[args.index(b"--pool") + 1] == pool.encode():
            out.append(pid)
    return out


def status_fields(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        fields[k] = v.split()
    return fields


def call(sock, script, **query):
    r = fcgi.request(sock, str(script), query="&".join(f"{k}={v}" for k, v in query.items()))
    assert r.status == 200, r
    return json.loads(r.body)


def test_workers_run_as_their_pools_user_and_cannot_switch_back(tfpm_factory, users, docroot):
    a, b = users
    www, pools = two_pools(users)
    # Every pool names a user: no --allow-root needed under root.
    tfpm = tfpm_factory(allow_root=False, pools=pools, **www)
    for pool, user, sock in (("www", a, tfpm.sock), ("b", b, str(tfpm.dir / "b.sock"))):
        pids = pool_pids(tfpm, pool)
        assert len(pids) == 1, (pool, tfpm.worker_pids())
        st = status_fields(pids[0])
        assert st["Uid"] == [str(user.pw_uid)] * 4, st["Uid"]
        assert st["Gid"] == [str(user.pw_gid)] * 4, st["Gid"]
        assert st["Groups"] == [str(user.pw_gid)], st["Groups"]
        assert int(st["CapEff"][0], 16) == 0 and int(st["CapPrm"][0], 16) == 0, st
        # Not dumpable (process_dumpable: false): /proc/PID belongs to root.
        assert os.stat(f"/proc/{pids[0]}/status").st_uid == 0
        me = call(sock, docroot / "whoami.php")
        assert (me["uid"], me["euid"], me["gid"], me["egid"]) == (user.pw_uid, user.pw_uid, user.pw_gid, user.pw_gid)
        assert me["status_uids"] == [user.pw_uid] * 4
        assert me["groups"] == [user.pw_gid]
        assert int(me["cap_eff"], 16) == 0
        assert me["setuid0"] is False and me["setuid0_errno"] == 1  # EPERM
        assert me["kill_supervisor"] is False and me["kill_errno"] == 1  # EPERM: signal the root supervisor
        assert (me["user_env"], me["home_env"]) == (user.pw_name, user.pw_dir)  # php-fpm sets USER, HOME


def test_a_pool_cannot_read_another_pools_files(tfpm_factory, users, docroot):
    a, b = users
    www, pools = two_pools(users)
    tfpm = tfpm_factory(pools=pools, **www)
    b_sock = str(tfpm.dir / "b.sock")
    own = call(tfpm.sock, docroot / "read.php", f=docroot / f"secret-{a.pw_name}")
    assert own["ok"] and own["data"] == f"secret of {a.pw_name}\n"
    other = call(tfpm.sock, docroot / "read.php", f=docroot / f"secret-{b.pw_name}")
    assert not other["ok"] and "Permission denied" in other["error"], other
    other = call(b_sock, docroot / "read.php", f=docroot / f"secret-{a.pw_name}")
    assert not other["ok"] and "Permission denied" in other["error"], other
    # Nor the daemon's own files: its config and log live in a root-only directory.
    cfg = call(b_sock, docroot / "read.php", f=tfpm.config_path)
    assert not cfg["ok"] and "Permission denied" in cfg["error"], cfg


def test_reopen_logs_after_the_switch(tfpm_factory, users, docroot):
    www, pools = two_pools(users, access_log="{dir}/access.log", access_format="%m %r%Q%q %s")
    tfpm = tfpm_factory(pools=pools, **www)
    log = tfpm.dir / "access.log"
    # The supervisor created it, root-only: the worker could not open it itself.
    assert (log.stat().st_uid, log.stat().st_mode & 0o777) == (0, 0o600)
    fcgi.request(tfpm.sock, SLEEP, query="ms=0&before=1")
    wait_until(lambda: "before=1" in log.read_text(), 5 * SLOW, what="the access log line")
    rotated = tfpm.dir / "access.log.1"
    log.rename(rotated)
    assert tfpm.ctl("reopen-logs").stdout.strip() == "ok"
    wait_until(log.exists, 5 * SLOW, what="a new access log")

    def in_new_file():
        fcgi.request(tfpm.sock, SLEEP, query="ms=0&after=1")
        return "after=1" in log.read_text()
    wait_until(in_new_file, 10 * SLOW, interval=0.1, what="the worker writing to the reopened access log")
    assert "after=1" not in rotated.read_text()
    assert "Permission denied" not in tfpm.log_text()


def test_a_killed_supervisor_takes_its_switched_workers_at_once(tfpm_factory, users):
    # The uid change cleared the parent-death signal; the worker sets it
    # again. Without it, a worker would notice the supervisor's death only on
    # its socket and then drain, waiting for the request in flight (8 s).
    www, pools = two_pools(users)
    tfpm = tfpm_factory(pools=pools, **www)
    workers = tfpm.worker_pids()
    assert len(workers) == 2
    busy = threading.Thread(target=lambda: _ignore(fcgi.request, tfpm.sock, SLEEP, query="ms=8000", timeout=20),
                            daemon=True)
    busy.start()
    wait_until(lambda: "ms=8000" in json.dumps(tfpm.status()), 5 * SLOW, what="the slow request to run")
    os.kill(tfpm.pid, signal.SIGKILL)
    tfpm.proc.wait(10)
    wait_until(lambda: not any(proc_alive(p) for p in workers), 2 * SLOW, interval=0.02,
               what="the switched workers to die with the supervisor")


def _ignore(f, *args, **kw):
    try:
        f(*args, **kw)
    except Exception:  # the connection dies with the worker
        pass


def test_limits_priority_and_dumpable_are_applied(tfpm_factory, users):
    www, pools = two_pools(users)
    # On pool b: the harness takes a top-level rlimit_files as the daemon's.
    pools["b"].update(rlimit_files=1000, rlimit_core="unlimited", process_priority=7, process_dumpable=True)
    tfpm = tfpm_factory(pools=pools, **www)
    (pid,) = pool_pids(tfpm, "b")
    limits = Path(f"/proc/{pid}/limits").read_text()
    assert re.search(r"^Max open files\s+1000\s+1000\s", limits, re.M), limits
    assert re.search(r"^Max core file size\s+unlimited\s+unlimited\s", limits, re.M), limits
    assert int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16]) == 7  # nice
    # process_dumpable: /proc/PID belongs to the pool's user again.
    assert os.stat(f"/proc/{pid}/status").st_uid == users[1].pw_uid
    # Pool www keeps the daemon's.
    (other,) = pool_pids(tfpm, "www")
    assert os.stat(f"/proc/{other}/status").st_uid == 0
    assert not re.search(r"^Max open files\s+1000\s", Path(f"/proc/{other}/limits").read_text(), re.M)
    assert int(Path(f"/proc/{other}/stat").read_text().rsplit(")", 1)[1].split()[16]) == 0


def run_test(conf_text, *args):
    d = Path(tempfile.mkdtemp(prefix="tfpm-it-iso-", dir="/tmp"))
    try:
        (d / "tfpm.yaml").write_text(conf_text.replace("{dir}", str(d)))
        return subprocess.run([str(TFPM), "--config", str(d / "tfpm.yaml"), "--test", *args],
                              capture_output=True, text=True, timeout=30 * SLOW)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_root_without_user_is_refused_unless_allow_root(tfpm_factory):
    conf = "daemon:\n  control_socket: {dir}/ctl.sock\npools:\n  www:\n    listen: {dir}/www.sock\n"
    r = run_test(conf)
    assert r.returncode == 1
    assert re.search(r"tfpm\.yaml:4: pools\.www: no user: PHP would run as root; set `user` \(e\.g\. www-data\) "
                     r"or start tfpm with --allow-root \(-R\)", r.stderr), r.stderr
    for flag in ("-R", "--allow-root"):
        ok = run_test(conf, flag)
        assert ok.returncode == 0, ok.stderr
    root = run_test(conf + "    user: root\n")
    assert root.returncode == 1 and "tfpm.yaml:6: pools.www.user: root is root (uid 0, gid 0)" in root.stderr
    missing = run_test(conf + "    user: tfpm-no-such-user\n")
    assert missing.returncode == 1
    assert "tfpm.yaml:6: pools.www.user: no such user tfpm-no-such-user" in missing.stderr, missing.stderr
    # The daemon itself refuses to start, with the same message.
    t = tfpm_factory(allow_root=False, wait_ready=False)
    assert t.wait_exit(10 * SLOW) == 1
    assert "pools.www: no user: PHP would run as root" in t.log_text()
    assert not t.worker_pids()


def test_chroot_runs_php_inside_it(tfpm_factory, users):
    # php-fpm's chroot: SCRIPT_FILENAME and DOCUMENT_ROOT name paths inside
    # it; chdir is inside it too. PHP's MINIT runs inside it (no php.ini or
    # extensions here: the harness's pools use ini_file "").
    root = Path(tempfile.mkdtemp(prefix="tfpm-it-chroot-", dir="/tmp"))
    try:
        root.chmod(0o755)
        (root / "srv").mkdir(mode=0o755)
        (root / "srv" / "index.php").write_text(
            '<?php echo json_encode(["cwd" => getcwd(), "self" => __FILE__, "uid" => posix_getuid(),'
            ' "outside" => @file_exists("' + str(root) + '/srv/index.php"), "etc" => @is_dir("/etc")]);')
        www, pools = two_pools(users, chroot=str(root), chdir="/srv")
        tfpm = tfpm_factory(pools=pools, **www)
        (pid,) = pool_pids(tfpm, "www")
        assert os.readlink(f"/proc/{pid}/root") == str(root)
        assert os.readlink(f"/proc/{pid}/cwd") == str(root / "srv")
        r = fcgi.request(tfpm.sock, "/srv/index.php")
        assert r.status == 200, r
        me = json.loads(r.body)
        assert me == {"cwd": "/srv", "self": "/srv/index.php", "uid": users[0].pw_uid, "outside": False,
                      "etc": False}, me
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_process_max_bounds_the_worker_processes(tfpm_factory):
    t = tfpm_factory(daemon={"process_max": 1}, processes=2, wait_ready=False)
    assert t.wait_exit(10 * SLOW) == 1
    assert "pool www: process_max (1) worker processes are running" in t.log_text()
    ok = tfpm_factory(daemon={"process_max": 2}, processes=2)
    assert len(ok.worker_pids()) == 2


WORKER_APP = r"""<?php
while (tfpm_handle_request(function () {
    echo json_encode(['uid' => posix_getuid(), 'euid' => posix_geteuid(), 'gid' => posix_getgid(),
                      'setuid0' => @posix_setuid(0)]);
})) {}
"""


def test_worker_mode_switches_too(tfpm_factory, users, docroot):
    app = docroot / "worker-app.php"
    app.write_text(WORKER_APP)
    app.chmod(0o644)
    www, pools = two_pools(users, mode="worker", worker={"script": str(app)})
    tfpm = tfpm_factory(pools=pools, **www)
    (pid,) = pool_pids(tfpm, "www")
    assert status_fields(pid)["Uid"] == [str(users[0].pw_uid)] * 4
    r = fcgi.request(tfpm.sock, str(app))
    assert r.status == 200, r
    me = json.loads(r.body)
    assert (me["uid"], me["euid"], me["gid"], me["setuid0"]) == (users[0].pw_uid, users[0].pw_uid,
                                                                users[0].pw_gid, False)


def test_the_error_log_file_is_handed_over_and_reopened(tfpm_factory, users):
    # error_log is a root-only file the switched worker could not open.
    www, pools = two_pools(users)
    tfpm = tfpm_factory(pools=pools, daemon={"error_log": "{dir}/error.log", "log_level": "debug"}, **www)
    log = tfpm.dir / "error.log"
    assert log.stat().st_uid == 0 and log.stat().st_mode & 0o022 == 0  # the worker cannot write it by path
    (pid,) = pool_pids(tfpm, "www")
    wait_until(lambda: re.search(rf"\[pool www {pid}\] running as {users[0].pw_name} ", log.read_text()),
               5 * SLOW, what="the worker's line in the error log")
    log.rename(tfpm.dir / "error.log.1")
    assert tfpm.ctl("reopen-logs").stdout.strip() == "ok"
    wait_until(log.exists, 5 * SLOW, what="a new error log")
    # The running worker writes its next line (its drain) to the new file.
    assert tfpm.stop(signal.SIGQUIT) == 0
    assert re.search(rf"\[pool www {pid}\] draining", log.read_text()), log.read_text()
    assert "Permission denied" not in log.read_text() + (tfpm.dir / "error.log.1").read_text()


def test_a_php_ini_the_pools_user_cannot_read_stops_the_worker(tfpm_factory, users):
    # PHP would skip an unreadable php.ini without a word and serve without it.
    private = Path(tempfile.mkdtemp(prefix="tfpm-it-ini-", dir="/tmp"))  # mode 0700, root's
    try:
        (private / "php.ini").write_text("memory_limit = 64M\n")
        www, pools = two_pools(users)
        t = tfpm_factory(pools=pools, ini_file=str(private / "php.ini"), wait_ready=False, **www)
        assert t.wait_exit(10 * SLOW) == 1
        # Both pools' workers fail; the first to report stops the daemon,
        # and the other may be stopped before it reports.
        log = t.log_text()
        assert any(f"php.ini {private}/php.ini: Permission denied (the pool's user {u.pw_name} must be able "
                   f"to read it)" in log for u in users), log
    finally:
        shutil.rmtree(private, ignore_errors=True)
