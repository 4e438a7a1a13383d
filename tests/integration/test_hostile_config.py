"""Hostile config files never take tfpm down (issue 13): YAML anchors and
aliases (a self-referencing anchor recursed until the stack overflowed, an
alias bomb exhausts memory), and `pm-ctl config-test FILE`, which the daemon
runs as root on any path: it must not create files, block on a FIFO, read a
device, nor echo the values of environment variables."""
import os
import pwd
import resource
import subprocess
import time

import pytest

import fcgi
from helpers import ALLOW_ROOT, PM_CTL, SLOW, TFPM, php_fixture

ECHO = php_fixture("echo")
ANCHOR_ERROR = "YAML anchors and aliases (&name, *name) are not allowed in a tfpm config"


def self_referencing(sock):
    return f"pools:\n  www:\n    listen: {sock}\nx: &a [*a]\n"


def alias_bomb(sock):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefghi", "bcdefghij"):
        lines.append(f"{name}: &{name} [" + ", ".join(["*" + prev] * 10) + "]")
    return "\n".join(lines) + f"\npools:\n  www:\n    listen: {sock}\n    limit_extensions: *j\n"


def limit_memory():
    # On the old code the bomb would take the machine's memory: 2 GiB of
    # address space makes it fail fast instead.
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


@pytest.mark.parametrize("make", [self_referencing, alias_bomb], ids=["self_reference", "alias_bomb"])
def test_tfpm_test_refuses_anchors_with_file_and_line(tmp_path, make):
    path = tmp_path / "tfpm.yaml"
    path.write_text(make(tmp_path / "www.sock"))
    r = subprocess.run([str(TFPM), *ALLOW_ROOT, "--test", "--config", str(path)], capture_output=True, text=True,
                       timeout=60 * SLOW, preexec_fn=limit_memory)
    assert r.returncode == 1, (r.returncode, r.stderr)  # not a signal (stack overflow: -11)
    line = 4 if make is self_referencing else 1
    assert r.stderr.startswith(f"{path}:{line}: "), r.stderr
    assert ANCHOR_ERROR in r.stderr, r.stderr


@pytest.mark.sanitize
@pytest.mark.parametrize("make", [self_referencing, alias_bomb], ids=["self_reference", "alias_bomb"])
def test_reload_and_config_test_refuse_anchors_and_keep_serving(tfpm_factory, make):
    tfpm = tfpm_factory(processes=1, threads=2)
    pid, workers = tfpm.pid, tfpm.worker_pids()
    good = tfpm.config_path.read_text()
    other = tfpm.dir / "other.yaml"
    other.write_text(make(tfpm.sock))
    r = tfpm.ctl("config-test", str(other), check=False)
    assert r.returncode == 1 and ANCHOR_ERROR in r.stderr, (r.returncode, r.stderr)
    tfpm.config_path.write_text(make(tfpm.sock))
    r = tfpm.ctl("reload", check=False)
    assert r.returncode == 1 and ANCHOR_ERROR in r.stderr, (r.returncode, r.stderr)
    assert tfpm.alive() and tfpm.pid == pid, tfpm.log_text()
    assert tfpm.worker_pids() == workers
    assert fcgi.request(tfpm.sock, ECHO).status == 200
    assert tfpm.status()["generation"] == 1
    tfpm.config_path.write_text(good)


def test_config_test_creates_no_file(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1)
    log = tfpm.dir / "never-created.access.log"
    other = tfpm.dir / "other.yaml"
    other.write_text(tfpm.config_path.read_text().replace(
        "  www:\n", f"  www:\n    access_log: {log}\n", 1))
    r = tfpm.ctl("config-test", str(other))
    assert r.stdout.strip() == f"configuration file {other} test is successful"
    assert not log.exists(), "config-test created the access log"
    # A directory that does not exist is still an error, naming the key.
    other.write_text(tfpm.config_path.read_text().replace(
        "  www:\n", f"  www:\n    access_log: {tfpm.dir}/missing/a.log\n", 1))
    r = tfpm.ctl("config-test", str(other), check=False)
    assert r.returncode == 1 and "pools.www.access_log:" in r.stderr and "No such file" in r.stderr, r.stderr
    assert not (tfpm.dir / "missing").exists()


def test_config_test_of_a_fifo_does_not_block_the_daemon(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1)
    fifo = tfpm.dir / "fifo.yaml"
    os.mkfifo(fifo)
    try:
        r = tfpm.ctl("config-test", str(fifo), check=False, timeout=30 * SLOW)
        assert r.returncode == 1 and r.stderr.strip() == f"pm-ctl: {fifo}: not a regular file", r.stderr
        # The daemon answers at once (a generous bound: not a performance check).
        started = time.monotonic()
        assert tfpm.status()["ok"] is True
        assert time.monotonic() - started < 10 * SLOW
    finally:
        # On the old code the daemon waits in open(): a writer releases it
        # (with no reader, this open fails with ENXIO).
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
    assert fcgi.request(tfpm.sock, ECHO).status == 200


def test_config_test_of_a_device_or_a_directory_is_refused(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1)
    for path, error in [("/dev/zero", "/dev/zero: not a regular file"),
                        (str(tfpm.dir), f"{tfpm.dir}: Is a directory")]:
        r = tfpm.ctl("config-test", path, check=False, timeout=30 * SLOW)
        assert r.returncode == 1 and r.stderr.strip() == f"pm-ctl: {error}", r.stderr
    big = tfpm.dir / "big.yaml"
    big.write_bytes(b"#" * (1 << 20) + b"\n" + tfpm.config_path.read_bytes())
    r = tfpm.ctl("config-test", str(big), check=False)
    assert r.returncode == 1 and r.stderr.strip() == f"pm-ctl: {big}: larger than 1048576 bytes", r.stderr
    assert tfpm.status()["ok"] is True


def test_config_test_never_echoes_environment_values(tfpm_factory):
    secret = "s3cr3t-of-the-daemon"
    tfpm = tfpm_factory(processes=1, threads=1, process_env={"TFPM_IT_SECRET": secret})
    cases = [
        # Two pools on the same address: the error names the address.
        ("pools:\n  a:\n    listen: /run/${TFPM_IT_SECRET}.sock\n"
         "  b:\n    listen: /run/${TFPM_IT_SECRET}.sock\n",
         "pools.b.listen: /run/${TFPM_IT_SECRET}.sock is already used by pool a"),
        # An access log that cannot be opened: the error names the file.
        (f"pools:\n  a:\n    listen: {tfpm.dir}/a.sock\n    access_log: /nonexistent/${{TFPM_IT_SECRET}}/a.log\n",
         "pools.a.access_log: /nonexistent/${TFPM_IT_SECRET}/a.log: No such file or directory"),
    ]
    other = tfpm.dir / "env.yaml"
    for text, fragment in cases:
        other.write_text(text)
        r = tfpm.ctl("config-test", str(other), check=False)
        assert r.returncode == 1, r
        assert secret not in r.stderr, r.stderr
        assert fragment in r.stderr, r.stderr
    assert secret not in tfpm.log_text()


def test_config_test_reads_only_files_the_caller_may_read(tfpm_factory):
    """Before: config-test read, as root, any file a control-socket caller
    named, and its errors quote the file's lines: a caller could read
    /etc/shadow's lines through the daemon. Now only a file of the
    caller's, or one of root's the caller could read itself."""
    nobody = pwd.getpwnam("nobody")
    tfpm = tfpm_factory(processes=1, threads=1, control_socket_owner="nobody")
    os.chmod(tfpm.dir, 0o711)  # nobody reaches the control socket, not the files

    def ctl_as_nobody(path):
        return subprocess.run([str(PM_CTL), "--socket", tfpm.ctl_sock, "config-test", str(path)],
                              capture_output=True, text=True, timeout=10 * SLOW,
                              user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[])

    good = tfpm.config_path.read_text()
    secret = "s3cret-only-root-may-read"
    cases = [  # (name, owner uid, mode, text, allowed)
        ("root_private.yaml", 0, 0o600, f"{secret}: 1\n", False),
        ("root_group.yaml", 0, 0o640, f"{secret}: 1\n", False),
        ("other_user.yaml", 1234, 0o644, f"{secret}: 1\n", False),
        ("root_public.yaml", 0, 0o644, good, True),
        ("callers_own.yaml", nobody.pw_uid, 0o600, good, True),
    ]
    for name, uid, mode, text, allowed in cases:
        path = tfpm.dir / name
        path.write_text(text)
        os.chown(path, uid, uid)
        os.chmod(path, mode)
        r = ctl_as_nobody(path)
        if allowed:
            assert r.returncode == 0 and "test is successful" in r.stdout, (name, r.stdout, r.stderr)
        else:
            assert r.returncode == 1, (name, r.stdout, r.stderr)
            assert f"{path}: not readable by uid {nobody.pw_uid}" in r.stderr, (name, r.stderr)
            assert secret not in r.stderr + r.stdout, (name, r.stderr)
    # Root may have any regular file checked (the error quotes it: root could read it anyway).
    r = tfpm.ctl("config-test", str(tfpm.dir / "root_private.yaml"), check=False)
    assert r.returncode == 1 and secret in r.stderr, r.stderr
    assert tfpm.status()["ok"] is True
