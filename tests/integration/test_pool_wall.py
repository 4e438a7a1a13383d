"""The wall between pools (docs/security.md "Trust boundaries"): everything
a worker is handed is its own. PHP code in pool A (user tfpm-it-a) attempts,
against pool B (user tfpm-it-b) and the root supervisor, each thing a
compromised site would try; each attempt must fail with EACCES/EPERM (or,
for what A's process never holds, find nothing). test_isolation.py covers
the user switch itself and B's files."""
import hashlib
import json
import os
import secrets
import shutil
import threading
from pathlib import Path

import pytest

import fcgi
from helpers import SLOW, php_fixture, wait_until
from test_isolation import docroot, pool_pids, run_test, users  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("useradd") is None,
                                reason="needs root and useradd")

SLEEP = php_fixture("sleep")
PREFIX = "wallsecret-"

# One script, one attempt per `do`; it answers JSON.
PROBE = r"""<?php
function attempt($f) {
    error_clear_last();
    $r = @$f();
    $e = error_get_last();
    return ['ok' => $r !== false && $r !== null, 'result' => $r, 'error' => $e['message'] ?? ''];
}
$q = $_GET;
switch ($q['do']) {
case 'fds':  // this process's descriptors, as the kernel names them
    $out = [];
    foreach (scandir('/proc/self/fd') as $fd) {
        if ($fd !== '.' && $fd !== '..') $out[$fd] = @readlink("/proc/self/fd/$fd");
    }
    echo json_encode($out);
    break;
case 'scan':  // this process's writable memory: does it hold the string whose sha1 is `sha`?
    // Only the prefix is ever in this script's memory; a candidate counts
    // when the `len` bytes from a match of the prefix have that sha1.
    $prefix = $q['prefix']; $sha = $q['sha']; $len = (int)$q['len'];
    $mem = fopen('/proc/self/mem', 'rb');
    $found = false; $bytes = 0; $chunk = 1 << 20;
    foreach (file('/proc/self/maps') as $line) {
        if (!preg_match('/^([0-9a-f]+)-([0-9a-f]+) rw/', $line, $m)) continue;
        $start = hexdec($m[1]); $end = hexdec($m[2]); $carry = '';
        for ($a = $start; $a < $end; $a += $chunk) {
            if (fseek($mem, $a) !== 0) break;
            $data = @fread($mem, min($chunk, $end - $a));
            if ($data === false || $data === '') break;
            $bytes += strlen($data);
            $buf = $carry . $data; $off = 0;
            while (($p = strpos($buf, $prefix, $off)) !== false) {
                if (strlen($buf) - $p >= $len && sha1(substr($buf, $p, $len)) === $sha) { $found = true; break 3; }
                $off = $p + 1;
            }
            $carry = substr($buf, -$len);
        }
    }
    echo json_encode(['found' => $found, 'bytes' => $bytes]);
    break;
case 'environ':  // the names in this process's initial environment (/proc/self/environ)
    $names = [];
    foreach (explode("\0", file_get_contents('/proc/self/environ')) as $kv) {
        if ($kv !== '') $names[] = explode('=', $kv, 2)[0];
    }
    echo json_encode($names);
    break;
case 'open':
    echo json_encode(attempt(fn() => fopen($q['path'], $q['mode'] ?? 'r') !== false));
    break;
case 'dir':
    echo json_encode(attempt(fn() => scandir($q['path'])));
    break;
case 'kill':
    $r = posix_kill((int)$q['pid'], (int)$q['sig']);
    echo json_encode(['ok' => $r, 'errno' => posix_get_last_error()]);
    break;
case 'connect':
    $s = @stream_socket_client('unix://' . $q['path'], $errno, $errstr, 5);
    $reply = null;
    if ($s) {
        fwrite($s, "{\"cmd\":\"status\"}\n");
        stream_set_timeout($s, 5);
        $reply = fgets($s);
    }
    echo json_encode(['ok' => (bool)$s, 'errno' => $errno, 'error' => $errstr, 'reply' => $reply]);
    break;
case 'flip':  // this process's own scoreboard segment, rewritten while the supervisor reads it
    // Through /proc/self/mem at the segment's mapping (a dumpable process;
    // native code writes it directly). Header: magic, version, thread_count.
    preg_match('/^([0-9a-f]+)-[0-9a-f]+ rw-s .*memfd:tfpm-scoreboard/m', file_get_contents('/proc/self/maps'), $m);
    $at = hexdec($m[1]) + 8;
    $f = fopen('/proc/self/mem', 'r+b');
    fseek($f, $at);
    $n = unpack('V', fread($f, 4))[1];
    $end = microtime(true) + (float)$q['seconds'];
    $flips = 0;
    while (microtime(true) < $end) {
        for ($i = 0; $i < 1000; $i++, $flips++) {
            fseek($f, $at); fwrite($f, pack('V', $n));
            fseek($f, $at); fwrite($f, pack('V', 0xffffffff));
            fseek($f, $at); fwrite($f, pack('V', 0xffffffff));
        }
    }
    fseek($f, $at); fwrite($f, pack('V', $n));
    echo json_encode(['threads' => $n, 'flips' => $flips]);
    break;
case 'setpid':  // the pid this process's scoreboard segment names (dumpable: /proc/self/mem)
    preg_match('/^([0-9a-f]+)-[0-9a-f]+ rw-s .*memfd:tfpm-scoreboard/m', file_get_contents('/proc/self/maps'), $m);
    $f = fopen('/proc/self/mem', 'r+b');
    fseek($f, hexdec($m[1]) + 12);  // magic, version, thread_count, pid
    echo json_encode(['ok' => fwrite($f, pack('V', (int)$q['pid'])) === 4]);
    break;
case 'status':  // fpm_get_status() of this pool
    echo json_encode(fpm_get_status());
    break;
}
"""


def secret(tag):
    return f"{PREFIX}{tag}-{secrets.token_hex(16)}"


@pytest.fixture(scope="module")
def probe(docroot):  # noqa: F811
    p = docroot / "probe.php"
    p.write_text(PROBE)
    p.chmod(0o644)
    return p


def walled(tfpm_factory, users, b=None, **www):  # noqa: F811
    """Pool www as user a, pool b as user b, each with an env secret."""
    a_user, b_user = users
    sa, sb = secret("a"), secret("b")
    pools = {"b": {"listen": "{dir}/b.sock", "user": b_user.pw_name, "processes": 1, "threads": 2,
                   "env": {"B_SECRET": sb}, **(b or {})}}
    tfpm = tfpm_factory(pools=pools, user=a_user.pw_name, processes=1, threads=2, env={"A_SECRET": sa}, **www)
    return tfpm, sa, sb


def ask(sock, script, timeout=60, **query):
    r = fcgi.request(sock, str(script), query="&".join(f"{k}={v}" for k, v in query.items()), timeout=timeout)
    assert r.status == 200, r
    return json.loads(r.body)


def scan(sock, probe, value):
    return ask(sock, probe, do="scan", prefix=value[:len(PREFIX) + 2], len=len(value),
               sha=hashlib.sha1(value.encode()).hexdigest(), timeout=120 * SLOW)


def test_a_worker_holds_no_other_pools_config(tfpm_factory, users, probe):
    # Before: every worker was handed the whole config (all pools, their env
    # included) and kept it parsed for its lifetime, so pool A's PHP found
    # B's env secret in its own memory. PHP reads it through /proc/self/mem
    # when the process is dumpable (process_dumpable: true; otherwise
    # /proc/self/mem is root's), native code (FFI, an extension) always.
    tfpm, sa, sb = walled(tfpm_factory, users, process_dumpable=True, b={"process_dumpable": True})
    b_sock = str(tfpm.dir / "b.sock")
    # The scan works: each pool finds its own secret (its env), in bytes read.
    own = scan(tfpm.sock, probe, sa)
    assert own["found"] and own["bytes"] > 1 << 20, own
    assert scan(b_sock, probe, sb)["found"]
    # And neither finds the other's.
    assert not scan(tfpm.sock, probe, sb)["found"]
    assert not scan(b_sock, probe, sa)["found"]
    # The config descriptor (fd 3) is closed once read: PHP does not see it.
    fds = ask(tfpm.sock, probe, do="fds")
    assert not any("tfpm-config" in (t or "") for t in fds.values()), fds


def test_the_daemons_environment_is_wiped_from_a_cleared_worker(tfpm_factory, users, probe):
    # Pool b takes a secret from the daemon's environment (${VAR}). Every
    # worker starts with the daemon's environment; clear_env (the default)
    # emptied what getenv() sees, but before, the bytes stayed in the
    # process's initial environment: A's PHP read them in /proc/self/environ
    # (dumpable) and found the secret in its memory.
    ds = secret("d")
    tfpm, _, _ = walled(tfpm_factory, users, process_dumpable=True, process_env={"WALL_DAEMON_SECRET": ds},
                        b={"env": {"B_FROM_DAEMON": "${WALL_DAEMON_SECRET}"}, "process_dumpable": True})
    names = ask(tfpm.sock, probe, do="environ")
    assert "WALL_DAEMON_SECRET" not in names, names
    assert not scan(tfpm.sock, probe, ds)["found"]
    assert scan(str(tfpm.dir / "b.sock"), probe, ds)["found"]  # positive control: b's own env has it


def socket_inode(path):
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        f = line.split()
        if len(f) >= 8 and f[7] == path:
            return f[6]
    raise AssertionError(f"no unix socket {path}")


def test_a_worker_holds_only_its_own_descriptors(tfpm_factory, users, probe):
    tfpm, _, _ = walled(tfpm_factory, users)
    fds = ask(tfpm.sock, probe, do="fds")
    targets = [t or "" for t in fds.values()]
    # One scoreboard segment: its own.
    assert sum("memfd:tfpm-scoreboard" in t for t in targets) == 1, fds
    # Not the control socket, nor pool b's listening socket.
    for path in (tfpm.ctl_sock, str(tfpm.dir / "b.sock")):
        assert f"socket:[{socket_inode(path)}]" not in targets, (path, fds)
    assert f"socket:[{socket_inode(tfpm.sock)}]" in targets  # positive control: its own listener
    # PHP itself cannot open its process's descriptors by number: php://fd
    # is for the CLI only, and ZTS PHP resolves /proc/self/fd/N as a path
    # (to "/memfd:... (deleted)"). The notify socket and the scoreboard are
    # out of a script's reach unless it runs native code.
    for path in ("php://fd/4", "php://fd/5", "/proc/self/fd/4", "/proc/self/fd/5"):
        r = ask(tfpm.sock, probe, do="open", path=path, mode="r+")
        assert not r["ok"], (path, r)
    # Shared memory is memfds (the scoreboard segments) and anonymous
    # mappings: nothing under /dev/shm, nor a SysV segment, that a pool's
    # user could open by name.
    shared = []
    for pid in (tfpm.pid, *tfpm.worker_pids()):
        for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
            f = line.split(maxsplit=5)
            if f[1][3] == "s":
                shared.append(f[5] if len(f) == 6 else "")
    assert sum(name.startswith("/memfd:tfpm-scoreboard") for name in shared) >= 3, shared  # 2 workers + supervisor
    assert not [name for name in shared if name.startswith("/dev/shm/") or name.startswith("/SYSV")], shared


def memfd_fds(pid):
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("/memfd:"):
                out.append(int(fd))
        except OSError:
            pass
    return out


@pytest.mark.parametrize("dumpable", [False, True], ids=["default", "b_dumpable"])
def test_a_pool_cannot_reach_into_the_supervisor_or_another_pools_process(tfpm_factory, users, probe, dumpable):
    # process_dumpable: true hands /proc/PID of b's workers to user b; user a
    # is still kept out (ptrace access needs the same uid).
    tfpm, _, sb = walled(tfpm_factory, users, b={"process_dumpable": dumpable})
    (b_pid,) = pool_pids(tfpm, "b")
    sup = tfpm.pid
    targets = {sup: memfd_fds(sup), b_pid: memfd_fds(b_pid)}
    assert targets[sup] and targets[b_pid], targets  # scoreboards: the supervisor's of each worker, b's own
    for pid, memfds in targets.items():
        for path, mode in ((f"/proc/{pid}/mem", "r"), (f"/proc/{pid}/mem", "r+"), (f"/proc/{pid}/environ", "r"),
                           *((f"/proc/{pid}/fd/{fd}", "r+") for fd in memfds)):
            r = ask(tfpm.sock, probe, do="open", path=path, mode=mode)
            assert not r["ok"] and "Permission denied" in r["error"], (path, mode, r)
        r = ask(tfpm.sock, probe, do="dir", path=f"/proc/{pid}/fd")
        assert not r["ok"] and "Permission denied" in r["error"], (pid, r)
        for sig in (0, 15):  # 0 asks the same permission check without sending
            r = ask(tfpm.sock, probe, do="kill", pid=pid, sig=sig)
            assert r == {"ok": False, "errno": 1}, (pid, sig, r)  # EPERM
    assert tfpm.worker_pids() and b_pid in tfpm.worker_pids()  # nothing was signalled
    # Positive control: b's own process reaches its /proc (as the user it runs as).
    r = ask(str(tfpm.dir / "b.sock"), probe, do="dir", path="/proc/self/fd")
    assert r["ok"], r


def test_a_pool_cannot_use_the_control_socket(tfpm_factory, users, probe):
    tfpm, _, _ = walled(tfpm_factory, users)
    # The socket's directory is traversable here, so the socket itself is
    # what keeps the pool out (default mode 0600, root's).
    tfpm.config_path.chmod(0o600)
    tfpm.dir.chmod(0o711)
    st = os.stat(tfpm.ctl_sock)
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o600)
    r = ask(tfpm.sock, probe, do="connect", path=tfpm.ctl_sock)
    assert not r["ok"] and r["errno"] == 13, r  # EACCES
    assert tfpm.ctl("status").returncode == 0  # positive control: root gets in
    # Nor pool b's listening socket (listen_mode 0660, root's): a pool that
    # could send b FastCGI requests would run any .php file as b's user.
    b_sock = str(tfpm.dir / "b.sock")
    st = os.stat(b_sock)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, 0, 0o660)
    r = ask(tfpm.sock, probe, do="connect", path=b_sock)
    assert not r["ok"] and r["errno"] == 13, r


def test_a_pool_user_that_could_use_the_control_socket_is_refused(users):
    a_user, b_user = users
    base = ("daemon:\n  control_socket: {dir}/ctl.sock\n  control_socket_%s: %s\npools:\n  www:\n"
            "    listen: {dir}/www.sock\n    user: %s\n")
    owner = run_test(base % ("owner", a_user.pw_name, a_user.pw_name))
    assert owner.returncode == 1
    assert (f"tfpm.yaml:7: pools.www.user: {a_user.pw_name} may use the control socket (it is "
            f"daemon.control_socket_owner): PHP code of this pool could reload or stop tfpm; give the control "
            f"socket another owner") in owner.stderr, owner.stderr
    group = run_test(base % ("group", b_user.pw_name, b_user.pw_name))  # b's primary group
    assert group.returncode == 1
    assert (f"tfpm.yaml:7: pools.www.user: {b_user.pw_name} may use the control socket (it is "
            f"daemon.control_socket_group, as primary group)") in group.stderr, group.stderr
    # Another pool's user as the owner is fine.
    ok = run_test(base % ("owner", b_user.pw_name, a_user.pw_name))
    assert ok.returncode == 0, ok.stderr


def test_a_socket_other_pools_can_reach_is_warned_about(users):
    # Whoever connects to a pool's socket runs scripts as its user: a TCP
    # socket, or a unix socket any user may write, is open to the PHP code
    # of the other pools.
    a_user, b_user = users
    conf = ("daemon:\n  control_socket: {dir}/ctl.sock\npools:\n  www:\n    listen: 127.0.0.1:9071\n"
            "    user: %s\n  b:\n    listen: {dir}/b.sock\n    listen_mode: \"%s\"\n    user: %s\n")
    r = run_test(conf % (a_user.pw_name, "0666", b_user.pw_name))
    assert r.returncode == 0, r.stderr
    assert ("tfpm.yaml:4: pools.www.listen: 127.0.0.1:9071 is a TCP socket: every local process, the PHP code of "
            "the other pools included, can send it requests and run scripts as this pool's user") in r.stderr, r.stderr
    assert "tfpm.yaml:7: pools.b.listen: " in r.stderr and "is writable by every user (listen_mode)" in r.stderr
    # One user for every pool, or b's socket closed to others: no warning for those.
    same = run_test(conf % (a_user.pw_name, "0666", a_user.pw_name))
    assert same.returncode == 0 and "WARNING" not in same.stderr, same.stderr
    closed = run_test(conf % (a_user.pw_name, "0660", b_user.pw_name))
    assert "pools.b.listen" not in closed.stderr and "pools.www.listen" in closed.stderr, closed.stderr


def test_a_world_writable_control_socket_still_refuses_a_pool(tfpm_factory, users, probe):
    # An operator's control_socket_mode: "0666": connect() succeeds, but the
    # supervisor serves only root, its own uid and the configured
    # owner/group (SO_PEERCRED).
    a_user, _ = users
    tfpm, _, _ = walled(tfpm_factory, users, daemon={"control_socket_mode": "0666"})
    tfpm.config_path.chmod(0o600)
    tfpm.dir.chmod(0o711)
    r = ask(tfpm.sock, probe, do="connect", path=tfpm.ctl_sock)
    assert r["ok"], r
    assert json.loads(r["reply"]) == {"ok": False, "error": "permission denied"}, r
    wait_until(lambda: f"control socket: refused uid {a_user.pw_uid}" in tfpm.log_text(), 5 * SLOW,
               what="the refusal in the log")


def status_page(sock, query):
    params = {"SCRIPT_NAME": "/status", "REQUEST_URI": "/status?" + query}
    r = fcgi.request(sock, "/srv/nonexistent/status", query=query, params=params)
    assert r.status == 200, r
    return r.body.decode()


def test_a_pools_status_page_shows_only_its_own_requests(tfpm_factory, users, probe):
    tfpm, _, _ = walled(tfpm_factory, users, status_path="/status", process_dumpable=True,
                        b={"status_path": "/status"})
    b_sock = str(tfpm.dir / "b.sock")
    # A's PHP names B's worker in its own segment: the page shows the pid
    # the supervisor started, not that one (before: B's pid on A's page).
    (b_pid,) = pool_pids(tfpm, "b")
    assert ask(tfpm.sock, probe, do="setpid", pid=b_pid) == {"ok": True}
    marker = f"wallmarker{secrets.token_hex(8)}"
    # B's request, on B's page while it runs.
    slow = threading.Thread(target=fcgi.request, args=(b_sock, SLEEP), kwargs={"query": f"ms=2000&{marker}=1"},
                            daemon=True)
    slow.start()
    wait_until(lambda: marker in status_page(b_sock, "full&json"), 5 * SLOW, what="b's request on b's page")
    a_page = json.loads(status_page(tfpm.sock, "full&json"))
    assert a_page["pool"] == "www", a_page
    assert marker not in json.dumps(a_page)
    assert {p["pid"] for p in a_page["processes"]} == set(pool_pids(tfpm, "www")), a_page["processes"]
    # fpm_get_status() from PHP in pool A: the same.
    fpm = ask(tfpm.sock, probe, do="status")
    assert fpm["pool"] == "www" and marker not in json.dumps(fpm)
    assert b_pid not in {p["pid"] for p in fpm["procs"]}, fpm["procs"]
    slow.join(30)


def test_a_worker_rewriting_its_scoreboard_does_not_take_the_supervisor_down(tfpm_factory, users, probe):
    # Pool A's PHP writes its own segment (through /proc/self/mem: a
    # dumpable process; native code, FFI or an extension, can in any
    # process): the thread count flips between the real one and 0xffffffff
    # while the status page and pm-ctl status read it. Before, the
    # supervisor checked the count once and read it again on every turn of
    # its loops, so it could be taken past the mapping (the unit test
    # hostile_segment_test.cc shows the SIGSEGV; here, the attempt from PHP).
    tfpm, _, _ = walled(tfpm_factory, users, status_path="/status", process_dumpable=True)
    result = {}
    flipper = threading.Thread(target=lambda: result.update(ask(tfpm.sock, probe, do="flip", seconds=3, timeout=60)),
                               daemon=True)
    flipper.start()
    reads = 0
    while flipper.is_alive():
        tfpm.ctl("status", "--json")
        status_page(tfpm.sock, "full&json")
        reads += 1
    flipper.join()
    assert result.get("threads") == 2 and result["flips"] > 0, result
    assert reads > 0
    assert tfpm.proc.poll() is None, tfpm.log_text()
    page = json.loads(status_page(tfpm.sock, "full&json"))
    assert len(page["processes"]) == 2  # the count is restored: both threads are back
