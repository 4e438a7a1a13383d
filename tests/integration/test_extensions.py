"""PECL and shared extensions on tfpm's ZTS PHP, through nginx -> tfpm, with
real services the tests start themselves: phpredis against redis-server on 8
threads at once, APCu shared by the threads of one process (never across
processes or pools), imagick thumbnails, pdo_pgsql against PostgreSQL.

The PECL extensions are built by tools/test (tools/ext build --if-missing);
each test loads its extension through a scan directory (php.scan_dir).

Not in the sanitizer builds: PHP dlopen()s extensions with RTLD_DEEPBIND,
which the ASan/TSan runtimes refuse (the reason they run without OPcache)."""
import concurrent.futures
import glob
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from helpers import PHP_DIR, SLOW, http_get, wait_until

EXT_DIR = str(PHP_DIR / "extensions")


def _conf_d(tmp_path, *extensions):
    d = tmp_path / "conf.d"
    d.mkdir(exist_ok=True)
    for i, name in enumerate(extensions):
        (d / f"{20 + i}-{name}.ini").write_text(f"extension={name}\n")
    return str(d)


def _get_json(url, path):
    r = http_get(url, path)
    assert r.status == 200, (r.status, r.body[:2000])
    return json.loads(r.body)


def _needs(tfpm, name):
    log = tfpm.log_text()
    assert "Unable to load dynamic library '" + name not in log, (
        f"extension {name} is not built for tfpm's PHP: tools/ext build {name}\n{log[-2000:]}")


# ------------------------------------------------------------------ redis ---

@pytest.fixture
def redis_server(tmp_path):
    sock = tmp_path / "redis.sock"
    proc = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "777",
                             "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_until(lambda: sock.exists(), 10 * SLOW, what="redis-server to listen")
    yield str(sock)
    proc.terminate()
    proc.wait(10)


def test_phpredis_from_eight_threads_at_once(tfpm_factory, nginx_factory, tmp_path, redis_server):
    t = tfpm_factory(processes=1, threads=8, scan_dir=_conf_d(tmp_path, "igbinary", "redis"))
    _needs(t, "redis")
    url = nginx_factory(t, EXT_DIR)
    n, requests = 25, 64
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        results = list(ex.map(lambda _: _get_json(url, f"/redis.php?sock={redis_server}&n={n}"),
                              range(requests)))
    assert all(r["own"] for r in results)
    assert max(r["counter"] for r in results) == n * requests  # no increment lost
    assert len({r["thread"] for r in results}) > 1, "the requests all ran on one thread"


# ------------------------------------------------------------------- APCu ---

def test_apcu_is_shared_by_the_threads_of_a_process_not_across_processes(tfpm_factory, nginx_factory, tmp_path):
    t = tfpm_factory(processes=2, threads=4, scan_dir=_conf_d(tmp_path, "apcu"))
    _needs(t, "apcu")
    url = nginx_factory(t, EXT_DIR)
    # One store per process: keep storing until both processes hold a value
    # of their own (which process accepts a connection is the kernel's choice).
    stored = {}
    deadline = time.time() + 30 * SLOW
    while len(stored) < 2 and time.time() < deadline:
        r = _get_json(url, f"/apcu.php?op=store&k=who&v={len(stored)}-{time.time()}")
        stored[r["thread"].split("/")[0]] = r["value"]
    assert len(stored) == 2, "all requests went to one process"
    # Concurrent fetches (each holding its thread) land on different threads:
    # every thread of a process sees that process's value, never the other's.
    seen = {}
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        for r in ex.map(lambda _: _get_json(url, "/apcu.php?op=fetch&k=who&hold=0.2"), range(24)):
            assert r["enabled"] is True
            pid = r["thread"].split("/")[0]
            assert r["found"] and r["value"] == stored[pid], (r, stored)
            seen.setdefault(pid, set()).add(r["thread"])
    assert any(len(threads) > 1 for threads in seen.values()), seen


def test_apcu_is_not_shared_across_pools(tfpm_factory, nginx_factory, tmp_path):
    other = str(tmp_path / "other.sock")
    t = tfpm_factory(processes=1, threads=2, scan_dir=_conf_d(tmp_path, "apcu"),
                     pools={"other": {"listen": other, "processes": 1, "threads": 2}})
    _needs(t, "apcu")
    import fcgi
    script = os.path.join(EXT_DIR, "apcu.php")
    r = fcgi.request(t.sock, script, query="op=store&k=secret&v=www-only")
    assert json.loads(r.body)["stored"] is True
    r = fcgi.request(other, script, query="op=fetch&k=secret")
    assert json.loads(r.body)["found"] is False


# ---------------------------------------------------------------- imagick ---

def test_imagick_renders_thumbnails_on_four_threads(tfpm_factory, nginx_factory, tmp_path):
    t = tfpm_factory(processes=1, threads=4, scan_dir=_conf_d(tmp_path, "imagick"))
    _needs(t, "imagick")
    url = nginx_factory(t, EXT_DIR)

    def thumb(i):
        w, h = 400 + 8 * i, 200 + 4 * i
        r = http_get(url, f"/imagick.php?w={w}&h={h}")
        assert r.status == 200, r.body[:500]
        png = r.body
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        return (width, height) == (w // 4, h // 4)

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        assert all(ex.map(thumb, range(16)))


# -------------------------------------------------------------- pdo_pgsql ---

def _pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, f"{name} missing: tools/setup installs postgresql"
    return found[-1]


@pytest.fixture
def postgres():
    """A private PostgreSQL server on a Unix socket (no TCP), run as the
    postgres user in a temporary data directory; trust authentication."""
    d = Path(tempfile.mkdtemp(prefix="tfpm-it-pg-", dir="/tmp"))
    pw = pwd.getpwnam("postgres")
    os.chown(d, pw.pw_uid, pw.pw_gid)
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run(as_pg + [_pg_bin("initdb"), "-D", str(d / "data"), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True, timeout=120 * SLOW)
    subprocess.run(as_pg + [_pg_bin("pg_ctl"), "-D", str(d / "data"), "-l", str(d / "log"), "-w", "start",
                            "-o", f"-c listen_addresses='' -k {d} -c shared_buffers=16MB"],
                   check=True, capture_output=True, timeout=120 * SLOW)
    os.chmod(d, 0o755)
    yield str(d)
    subprocess.run(as_pg + [_pg_bin("pg_ctl"), "-D", str(d / "data"), "-m", "fast", "-w", "stop"],
                   capture_output=True, timeout=60 * SLOW)
    shutil.rmtree(d, ignore_errors=True)


def test_pdo_pgsql_through_nginx(tfpm_factory, nginx_factory, tmp_path, postgres):
    t = tfpm_factory(processes=1, threads=4, scan_dir=_conf_d(tmp_path, "pdo_pgsql", "pgsql"))
    _needs(t, "pdo_pgsql")
    url = nginx_factory(t, EXT_DIR)
    first = _get_json(url, f"/pgsql.php?host={postgres}&name=alice")
    assert first["count"] == 1 and first["server"].startswith("15")
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda _: _get_json(url, f"/pgsql.php?host={postgres}&name=bob"), range(20)))
    assert sorted(r["count"] for r in results)[-1] == 20
    assert len({r["id"] for r in results}) == 20
