"""Operations: log reopening, control socket access, systemd integration
(sd_notify against a test NOTIFY_SOCKET, watchdog, socket activation,
systemd-analyze verify), emergency restart."""
import grp
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

import fcgi
from helpers import PM_CTL, REPO, SLOW, TFPM, php_fixture, wait_until

ECHO = php_fixture("echo")


def test_pm_ctl_reopen_logs_after_logrotate_rename(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1, daemon={"error_log": "{dir}/daemon.log"})
    log = tfpm.dir / "daemon.log"
    rotated = tfpm.dir / "daemon.log.1"
    log.rename(rotated)  # as logrotate does (no copytruncate)
    assert tfpm.ctl("reopen-logs").stdout.strip() == "ok"
    wait_until(log.exists, 10 * SLOW, what="a new log file after pm-ctl reopen-logs")
    tfpm.ctl("reload")
    assert "reopening log files (pm-ctl reopen-logs)" in rotated.read_text()
    text = log.read_text()
    assert "pm-ctl reload: reloading configuration" in text and "generation 2 ready" in text, text
    assert "generation 2 ready" not in rotated.read_text()


# -------------------------------------------------------- control socket ---

def as_nobody(tfpm, *args):
    """pm-ctl run as uid/gid nobody/nogroup (a second, unprivileged uid)."""
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", str(PM_CTL),
                           "--socket", tfpm.ctl_sock, *args], capture_output=True, text=True, timeout=10 * SLOW)


needs_setpriv = pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0,
                                   reason="needs root and setpriv to act as a second uid")


@needs_setpriv
def test_second_uid_cannot_use_the_control_socket(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1)
    os.chmod(tfpm.dir, 0o755)  # let nobody reach the socket file; its own mode decides
    st = os.stat(tfpm.ctl_sock)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    r = as_nobody(tfpm, "status")
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert "Permission denied" in r.stderr, r.stderr
    r = as_nobody(tfpm, "stop")
    assert r.returncode == 3
    assert tfpm.alive() and tfpm.ctl("status").returncode == 0


@needs_setpriv
def test_so_peercred_refuses_other_uids_even_on_an_open_socket(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1, control_socket_mode="0666")
    os.chmod(tfpm.dir, 0o755)
    assert stat.S_IMODE(os.stat(tfpm.ctl_sock).st_mode) == 0o666
    r = as_nobody(tfpm, "stop")
    assert r.returncode == 1 and r.stderr.strip() == "pm-ctl: permission denied", (r.returncode, r.stderr)
    assert "control socket: refused uid 65534" in tfpm.log_text()
    assert tfpm.alive()


@needs_setpriv
def test_control_socket_group_grants_access(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1, control_socket_mode="0660", control_socket_group="nogroup")
    os.chmod(tfpm.dir, 0o755)
    st = os.stat(tfpm.ctl_sock)
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == grp.getgrnam("nogroup").gr_gid
    r = as_nobody(tfpm, "status")
    assert r.returncode == 0, r.stderr
    assert f"pid {tfpm.pid}" in r.stdout


# --------------------------------------------------------------- systemd ---

class NotifySocket:
    """A unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="tfpm-it-notify-", dir="/tmp")
        self.path = os.path.join(self.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []  # (monotonic time received, text)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def texts(self):
        return [m for _, m in list(self.messages)]

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def notify_socket():
    n = NotifySocket()
    yield n
    n.close()


def test_sd_notify_ready_status_reloading_stopping(tfpm_factory, notify_socket):
    tfpm = tfpm_factory(processes=1, threads=3, process_env={"NOTIFY_SOCKET": notify_socket.path})
    wait_until(lambda: any(m.startswith("STATUS=generation 1") for m in notify_socket.texts()), 10 * SLOW,
               what="a STATUS= line")
    texts = notify_socket.texts()
    assert texts[0].split("\n")[0] == "READY=1", texts
    status = next(m for m in texts if m.startswith("STATUS=generation"))
    assert re.fullmatch(r"STATUS=generation 1: 0 busy, 3 idle threads; [\d.]+ req/s", status), status

    before = time.monotonic()
    tfpm.ctl("reload")
    after = time.monotonic()
    texts = notify_socket.texts()
    reloading = [m for m in texts if m.startswith("RELOADING=1")]
    assert len(reloading) == 1, texts
    m = re.match(r"RELOADING=1\nMONOTONIC_USEC=(\d+)\n", reloading[0])
    assert m, reloading[0]
    usec = int(m.group(1))
    # CLOCK_MONOTONIC, as systemd requires: within the reload's time span.
    assert before * 1e6 - 1000 <= usec <= after * 1e6 + 1000, (before, usec, after)
    i = texts.index(reloading[0])
    wait_until(lambda: any(t.startswith("READY=1") for t in notify_socket.texts()[i + 1:]), 10 * SLOW,
               what="READY=1 after the reload")

    assert tfpm.stop(signal.SIGQUIT) == 0
    assert "STOPPING=1" in notify_socket.texts()


def test_sd_notify_watchdog(tfpm_factory, notify_socket):
    # A 1 s interval: pings every half interval (500 ms) leave 500 ms for a
    # busy machine's scheduling delays before one is late.
    tfpm_factory(processes=1, threads=1, process_env={"NOTIFY_SOCKET": notify_socket.path,
                                                      "WATCHDOG_USEC": "1000000"})
    wait_until(lambda: notify_socket.texts().count("WATCHDOG=1") >= 5, 10 * SLOW, what="WATCHDOG=1 pings")
    pings = [t for t, m in notify_socket.messages if m == "WATCHDOG=1"]
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    # About every half interval, never later than the interval itself.
    assert max(gaps) < 1.0 * SLOW, gaps


def test_watchdog_for_another_pid_is_ignored(tfpm_factory, notify_socket):
    tfpm_factory(processes=1, threads=1, process_env={"NOTIFY_SOCKET": notify_socket.path,
                                                      "WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"})
    time.sleep(0.5)
    assert "WATCHDOG=1" not in notify_socket.texts()


def test_socket_activation_uses_the_passed_socket(tfpm_factory):
    d = Path(tempfile.mkdtemp(prefix="tfpm-it-activation-", dir="/tmp"))
    path = str(d / "activated.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(64)
    inode = os.stat(path).st_ino
    fd = s.fileno()
    try:
        # As systemd does: the socket at fd 3, LISTEN_PID = tfpm's pid (the
        # shell execs tfpm, keeping its pid).
        prefix = ["/bin/bash", "-c", f'exec 3<&{fd}; exec {fd}<&-; LISTEN_PID=$$ LISTEN_FDS=1 '
                                   f'LISTEN_FDNAMES=www exec "$0" "$@"']
        tfpm = tfpm_factory(processes=1, threads=2, listen=path, process_prefix=prefix, pass_fds=(fd,))
        s.close()  # tfpm holds the only copy now
        assert f"pool www: listening on {path} (from systemd)" in tfpm.log_text()
        r = fcgi.request(path, ECHO, query="activated=1")
        assert r.status == 200 and b'"activated":"1"' in r.body
        assert os.stat(path).st_ino == inode
        # A reload keeps it, too.
        tfpm.ctl("reload")
        assert fcgi.request(path, ECHO).status == 200
        assert tfpm.stop(signal.SIGQUIT) == 0
        # The socket file belongs to systemd: tfpm does not remove it.
        assert os.path.exists(path)
    finally:
        s.close()
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path):
    build = TFPM.parent.parent
    for name in ("tfpm.service", "tfpm.socket"):
        # tfpm.service as meson filled it in (<prefix>/sbin/tfpm, <prefix>/bin/pm-ctl)
        text = (build / "systemd" / name if name == "tfpm.service" else REPO / "systemd" / name).read_text()
        text = text.replace("/usr/local/sbin/tfpm", str(TFPM)).replace("/usr/local/bin/pm-ctl", str(PM_CTL))
        (tmp_path / name).write_text(text)
    assert (build / "tools" / "pm-ctl").exists()
    r = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "tfpm.service"), str(tmp_path / "tfpm.socket")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


# ------------------------------------------------------ emergency restart ---

def test_emergency_restart_after_segfaults(tfpm_factory):
    tfpm = tfpm_factory(processes=3, threads=1, emergency_restart_threshold=2, emergency_restart_interval="30s")
    tfpm.allowed_crash_patterns += ["signal 11 (SIGSEGV)", "SIGSEGV"]
    pids = sorted(p["pid"] for p in tfpm.status()["pools"][0]["processes"])
    os.kill(pids[0], signal.SIGSEGV)
    wait_until(lambda: f"child {pids[0]} exited on signal 11" in tfpm.log_text(), 10 * SLOW, what="first crash")
    assert tfpm.status()["generation"] == 1  # one crash: an ordinary replacement
    os.kill(pids[1], signal.SIGSEGV)
    wait_until(lambda: tfpm.status()["generation"] == 2 and "reloading" not in tfpm.status(), 20 * SLOW,
               what="an emergency restart (generation 2)")
    log = tfpm.log_text()
    assert "2 children exited on SIGSEGV or SIGBUS within 30000 ms: emergency restart of every pool" in log
    wait_until(lambda: not tfpm.status()["previous_generations"], 20 * SLOW, what="the old generation to exit")
    new = sorted(p["pid"] for p in tfpm.status()["pools"][0]["processes"])
    assert len(new) == 3 and not set(new) & set(pids)
    assert fcgi.request(tfpm.sock, ECHO).status == 200
