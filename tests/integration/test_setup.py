"""tools/setup's failure paths, each with the message a new user reads: the
real shell functions of tools/lib, run against a stand-in mirror (a local
HTTP server), a small disk (tmpfs), an unprivileged user, fake apt tools."""
import hashlib
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LIB = REPO / "tools" / "lib" / "php-build.sh"


def sh(script, env=None, user=None, cwd=None):
    e = {"PATH": os.environ["PATH"], "HOME": "/tmp", "TFPM_TOOL": "setup"}
    e.update(env or {})
    cmd = ["bash", "-c", f'. "{LIB}"; install_err_trap\n{script}']
    if user:
        cmd = ["runuser", "-u", user, "--"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=120, cwd=cwd)


@pytest.fixture
def mirror(tmp_path):
    """A stand-in Debian mirror: files under tmp_path/mirror over HTTP."""
    root = tmp_path / "mirror"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def _pins(tmp_path, lines):
    p = tmp_path / "pins"
    p.write_text("# test pins\n" + "".join(f"{line}\n" for line in lines))
    return p


def test_unreachable_mirror_names_every_url_tried(tmp_path):
    pins = _pins(tmp_path, ["php8.4 8.4.99 pool/main/p/php8.4/php8.4_8.4.99.orig.tar.xz " + "a" * 64,
                            "php8.4 8.4.98 pool/main/p/php8.4/php8.4_8.4.98.orig.tar.xz " + "b" * 64])
    r = sh("fetch_pinned php8.4", env={"TFPM_PINS": str(pins), "TFPM_CACHE_DIR": str(tmp_path / "cache"),
                                       "TFPM_DEBIAN_MIRROR": "http://127.0.0.1:9"})
    assert r.returncode != 0
    assert "cannot get php8.4: none of its pinned tarballs is cached" in r.stderr, r.stderr
    assert "tried http://127.0.0.1:9/pool/main/p/php8.4/php8.4_8.4.99.orig.tar.xz" in r.stderr
    assert "tried http://127.0.0.1:9/pool/main/p/php8.4/php8.4_8.4.98.orig.tar.xz" in r.stderr
    assert "what to do:" in r.stderr


def test_a_pin_not_served_falls_back_to_the_next_and_checks_its_sha256(tmp_path, mirror):
    root, url = mirror
    good = b"the 8.4.98 tarball"
    bad = b"tampered"
    (root / "pool/x").mkdir(parents=True)
    (root / "pool/x/php8.4_8.4.98.orig.tar.xz").write_bytes(good)
    (root / "pool/x/php8.4_8.4.97.orig.tar.xz").write_bytes(bad)
    sha = hashlib.sha256(good).hexdigest()
    pins = _pins(tmp_path, ["php8.4 8.4.99 pool/x/php8.4_8.4.99.orig.tar.xz " + "c" * 64,  # 404
                            "php8.4 8.4.97 pool/x/php8.4_8.4.97.orig.tar.xz " + "d" * 64,  # wrong sha
                            f"php8.4 8.4.98 pool/x/php8.4_8.4.98.orig.tar.xz {sha}"])
    env = {"TFPM_PINS": str(pins), "TFPM_CACHE_DIR": str(tmp_path / "cache"), "TFPM_DEBIAN_MIRROR": url}
    r = sh("fetch_pinned php8.4", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["8.4.98", str(tmp_path / "cache/src/php8.4_8.4.98.orig.tar.xz")]
    assert "sha256 mismatch" in r.stderr
    assert not (tmp_path / "cache/src/php8.4_8.4.97.orig.tar.xz").exists()
    # Cached now: no mirror needed any more.
    env["TFPM_DEBIAN_MIRROR"] = "http://127.0.0.1:9"
    r = sh("fetch_pinned php8.4", env=env)
    assert r.returncode == 0 and r.stdout.split()[0] == "8.4.98", r.stderr
    assert "downloading" not in r.stderr


def test_check_pins_reports_a_preferred_pin_that_is_gone(tmp_path, mirror):
    root, url = mirror
    (root / "pool").mkdir()
    (root / "pool/b.tar.gz").write_bytes(b"x")
    pins = _pins(tmp_path, ["redis 9.9 pool/a.tar.gz " + "e" * 64, "redis 9.8 pool/b.tar.gz " + "f" * 64])
    r = sh("check_pins", env={"TFPM_PINS": str(pins), "TFPM_DEBIAN_MIRROR": url})
    assert r.returncode == 1
    assert "the preferred pin of redis (9.9) is not served any more" in r.stderr
    assert f"404 {url}/pool/a.tar.gz" in r.stdout and f"200 {url}/pool/b.tar.gz" in r.stdout


def test_the_real_pins_are_well_formed():
    names = {}
    for line in (REPO / "tools/lib/pins").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, version, path, sha = line.split()
        assert len(sha) == 64 and all(c in "0123456789abcdef" for c in sha), line
        assert path.startswith("pool/main/") and version in path, line
        names.setdefault(name, []).append(version)
    assert {"php8.4", "redis", "apcu", "igbinary", "msgpack", "memcached", "imagick"} <= set(names)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounts a small tmpfs")
def test_a_full_disk_is_named_before_the_build(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)], check=True)
    try:
        r = sh("build_php zts", env={"TFPM_CACHE_DIR": str(small / "cache")})
    finally:
        subprocess.run(["umount", str(small)], check=True)
    assert r.returncode != 0
    assert "the PHP source needs 200 MiB free in" in r.stderr, r.stderr
    assert "free some space (or set TFPM_CACHE_DIR" in r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="switches to an unprivileged user")
def test_a_user_without_root_or_sudo_is_told_so(tmp_path):
    if shutil.which("sudo"):
        pytest.skip("sudo is installed: the non-root path would ask for a password")
    r = sh("TFPM_PACKAGES=(tfpm-no-such-package); install_packages", user="nobody", cwd="/tmp")
    assert r.returncode != 0
    assert "packages are missing (tfpm-no-such-package) and installing them needs root" in r.stderr, r.stderr


def _fake_apt(tmp_path):
    """apt-get and dpkg-query stand-ins that log their calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "apt-get $*" >>{tmp_path}/calls\n')
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")  # nothing is installed
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    return bin_dir


@pytest.mark.skipif(os.geteuid() != 0, reason="install_packages runs apt as root")
def test_a_pre_existing_policy_rc_d_does_not_end_setup(tmp_path):
    # Every Debian container image ships /usr/sbin/policy-rc.d; wave 1's
    # setup returned 1 there ('[ $made_policy = 1 ] && ...' as the last
    # command) and set -e ended it without a word.
    bin_dir = _fake_apt(tmp_path)
    policy = tmp_path / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    r = sh("TFPM_PACKAGES=(nginx); install_packages; echo REACHED",
           env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "TFPM_POLICY_RC": str(policy)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "REACHED"
    assert policy.read_text() == "#!/bin/sh\nexit 101\n"  # the image's own, untouched
    calls = (tmp_path / "calls").read_text()
    assert "apt-get update -qq" in calls and "install -y -qq --no-install-recommends nginx" in calls


@pytest.mark.skipif(os.geteuid() != 0, reason="install_packages runs apt as root")
def test_our_policy_rc_d_is_removed_after_the_install(tmp_path):
    bin_dir = _fake_apt(tmp_path)
    policy = tmp_path / "policy-rc.d"
    # The stand-in apt-get records whether the policy was in place meanwhile.
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\n[ -x {policy} ] && echo "policy in place" >>{tmp_path}/calls; exit 0\n')
    r = sh("TFPM_PACKAGES=(nginx); install_packages; echo REACHED",
           env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "TFPM_POLICY_RC": str(policy)})
    assert r.returncode == 0 and r.stdout.strip() == "REACHED", r.stderr
    assert "policy in place" in (tmp_path / "calls").read_text()
    assert not policy.exists()


def test_a_failing_command_is_named_with_its_line(tmp_path):
    script = tmp_path / "step.sh"
    script.write_text(f'. "{REPO}/tools/lib/common.sh"\ninstall_err_trap\necho one\nfalse --the-step\necho never\n')
    r = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "never" not in r.stdout
    assert '"false --the-step" failed with status 1 (step.sh:4)' in r.stderr, r.stderr
