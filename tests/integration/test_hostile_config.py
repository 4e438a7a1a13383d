"""Hostile config files never take tfpm down (issue 13): YAML anchors and
aliases (a self-referencing anchor recursed until the stack overflowed, an
alias bomb exhausts memory)."""
import resource
import subprocess

import pytest

import fcgi
from helpers import SLOW, TFPM, php_fixture

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
    r = subprocess.run([str(TFPM), "--test", "--config", str(path)], capture_output=True, text=True,
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
