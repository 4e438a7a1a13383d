"""Access log (access_log, access_format, access_suppress_path), log_limit
and the config's $pool / ${VAR} expansion, against the real daemon.

The strongest check is differential: Debian's php-fpm 8.2 and tfpm get the
same access.format (nearly every token), the same php.ini and docroot and
the same FastCGI requests; their log lines must be equal once the values
that legitimately differ (pids, times, durations, memory, CPU) are checked
for their shape instead of their value.
"""
import os
import re
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

import fcgi
from helpers import ALLOW_ROOT, PHP_DIR, SLOW, TFPM, PhpFpm, connects, free_port, php_fixture, wait_until

ROOT = str(PHP_DIR / "differential")
WORKER_APP = php_fixture("worker", "app.php")

# Stable fields first (compared byte for byte), volatile ones after "##"
# (each checked against a pattern).
STABLE = ("%R|%u|%m|%r|%q|%Q|%s|%f|%l|%n|%{HTTP_HOST}e|%{SCRIPT_NAME}e|%{NOPE}e|%{PATH_INFO}e|"
          "%{Content-type}o|%{Location}o|%{X-A}o|%{X-Missing}o|%%|%{%Y}t|%{%Y}T|100%%")
VOLATILE = "%d %{milli}d %{micro}d %M %{kilo}M %{mega}M %C %{user}C %{system}C %p %P %t %T"
FORMAT = STABLE + "##" + VOLATILE
TIME = r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}"
VOLATILE_RE = re.compile(
    r"\d+\.\d{3} \d+\.\d{3} \d+ \d+ \d+ \d+ (?:\d+\.\d\d|-?nan|inf) (?:\d+\.\d\d|-?nan|inf) "
    r"(?:\d+\.\d\d|-?nan|inf) (\d+) (\d+) " + TIME + " " + TIME + r"\n")

PHP_INI = """\
display_errors = 1
log_errors = 0
html_errors = 0
output_buffering = 4096
expose_php = 1
date.timezone = UTC
cgi.fix_pathinfo = 1
include_path = "."
"""

FPM_CONF = """\
[global]
error_log = {dir}/php-fpm.log
pid = {dir}/php-fpm.pid
daemonize = no

[www]
listen = 127.0.0.1:{port}
pm = static
pm.max_children = 1
clear_env = yes
security.limit_extensions = .php
access.log = {dir}/fpm-access.log
access.format = "{format}"
"""


def S(name):
    return f"{ROOT}/{name}"


def nginx_params(script_name, path_info="", query=""):
    uri = script_name + path_info
    return {"DOCUMENT_ROOT": ROOT, "SCRIPT_FILENAME": ROOT + script_name, "SCRIPT_NAME": script_name,
            "PATH_INFO": path_info, "REQUEST_URI": uri + ("?" + query if query else ""),
            "QUERY_STRING": query, "HTTP_HOST": "example.org"}


# (script, fcgi.request keyword arguments)
REQUESTS = [
    (S("hello.php"), dict(params=nginx_params("/hello.php"))),
    (S("hello.php"), dict(query="a=1&b=2", params=nginx_params("/hello.php", query="a=1&b=2"))),
    (S("paths.php"), dict(params=nginx_params("/paths.php", "/foo/bar"))),
    (S("headers.php"), dict(query="mode=replace", params=nginx_params("/headers.php", query="mode=replace"))),
    (S("headers.php"), dict(query="mode=code", params=nginx_params("/headers.php", query="mode=code"))),
    (S("headers.php"), dict(query="mode=list", params=nginx_params("/headers.php", query="mode=list"))),
    (S("redirect.php"), dict(query="mode=plain", params=nginx_params("/redirect.php", query="mode=plain"))),
    (S("redirect.php"), dict(query="mode=301", params=nginx_params("/redirect.php", query="mode=301"))),
    (S("post.php"), dict(method="POST", body=b"x=1&y=2",
                         headers={"Content-Type": "application/x-www-form-urlencoded"},
                         params=nginx_params("/post.php"))),
    (S("head.php"), dict(method="HEAD", params=nginx_params("/head.php"))),
    (S("hello.php"), dict(params={**nginx_params("/hello.php"),
                                  "HTTP_AUTHORIZATION": "Basic YWxpY2U6c2VjcmV0"})),  # alice:secret
    (S("missing.php"), dict(params=nginx_params("/missing.php"))),
    (S("notphp.txt"), dict(params=nginx_params("/notphp.txt"))),
    (S("errors.php"), dict(query="mode=fatal", params=nginx_params("/errors.php", query="mode=fatal"))),
    (S("errors.php"), dict(query="mode=exception", params=nginx_params("/errors.php", query="mode=exception"))),
    (S("exit.php"), dict(params=nginx_params("/exit.php"))),
    (S("large.php"), dict(params=nginx_params("/large.php"))),
    (S("hello.php"), dict(params={**nginx_params("/" + "long" * 50 + ".php"),
                                  "SCRIPT_FILENAME": S("hello.php"), "QUERY_STRING": "q=" + "z" * 600})),
    (S("hello.php"), dict(params={**nginx_params("/hello.php"), "SCRIPT_NAME": None, "PATH_INFO": None})),
]


def read_lines(path, count, timeout=10 * SLOW):
    def enough():
        return path.exists() and path.read_text(errors="replace").count("\n") >= count
    wait_until(enough, timeout, what=f"{count} lines in {path}")
    return path.read_text(errors="replace").splitlines(keepends=True)


def start_php_fpm(directory, ini):
    """php-fpm logging FORMAT over TCP (helpers.PhpFpm)."""
    port = free_port()
    access_log = Path(directory) / "fpm-access.log"
    fpm = PhpFpm(directory, FPM_CONF.format(dir=directory, port=port, format=FORMAT.replace('"', '\\"')),
                 ready=lambda: access_log.exists() and connects(("127.0.0.1", port)), ini=ini)
    fpm.port, fpm.access_log = port, access_log
    return fpm


def test_same_lines_as_php_fpm(tfpm_factory):
    directory = Path(tempfile.mkdtemp(prefix="tfpm-it-access-", dir="/tmp"))
    ini = directory / "php.ini"
    ini.write_text(PHP_INI)
    fpm = start_php_fpm(directory, ini)
    try:
        port = free_port()
        tfpm = tfpm_factory(ini_file=str(ini), listen=f"127.0.0.1:{port}", processes=1, threads=2,
                            access_log="{dir}/access.log", access_format=FORMAT)
        for script, kw in REQUESTS:
            fcgi.request(("127.0.0.1", fpm.port), script, **kw)
            fcgi.request(("127.0.0.1", port), script, **kw)
        want = read_lines(fpm.access_log, len(REQUESTS))
        got = read_lines(tfpm.dir / "access.log", len(REQUESTS))
    finally:
        fpm.stop()
    assert len(want) == len(got) == len(REQUESTS), (want, got)
    worker_pids = {str(p) for p in tfpm.worker_pids()}
    for (script, kw), w, g in zip(REQUESTS, want, got):
        w_stable, w_volatile = w.split("##", 1)
        g_stable, g_volatile = g.split("##", 1)
        assert g_stable == w_stable, f"{script} {kw.get('query', '')}:\nphp-fpm: {w}tfpm:    {g}"
        if len(w.encode()) == 1025:
            # Cut at 1024 bytes by both (the long URI and query string):
            # where depends on the volatile values' widths.
            assert len(g.encode()) == 1025, g
            continue
        assert VOLATILE_RE.fullmatch(w_volatile), w_volatile  # the pattern fits php-fpm too
        m = VOLATILE_RE.fullmatch(g_volatile)
        assert m, g_volatile
        assert m.group(1) in worker_pids and m.group(2) == str(tfpm.pid), (g_volatile, worker_pids, tfpm.pid)
    # Not a vacuous comparison: the tokens carried real values.
    joined = "".join(got)
    for needle in ("127.0.0.1|alice|GET|/hello.php||", "|a=1&b=2|?|200|", "|POST|/post.php|||200|",
                   "|302|", "/target?x=1", "|example.org|", "text/plain;charset=UTF-8", "|404|",
                   "|HEAD|", "|403|", "|/foo/bar|", "|7|", "|2|-|"):
        assert needle in joined, (needle, joined)
    assert sum(len(line.encode()) == 1025 for line in got) == 1, "the long request's line is not cut"
    shutil_rmtree(directory)


def shutil_rmtree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def test_default_format_and_process_tokens(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1, access_log="{dir}/access.log")
    hello = php_fixture("echo")
    fcgi.request(tfpm.sock, hello, query="x=1")
    line = read_lines(tfpm.dir / "access.log", 1)[0]
    # %R is "-" over a Unix socket, as php-fpm's; %u empty; %r the script name.
    assert re.fullmatch(r"- -  " + TIME + r' "GET /index\.php" 200\n', line), line


@pytest.mark.sanitize
def test_many_threads_write_whole_lines(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=4, access_log="{dir}/access.log",
                        access_format="%m %r %q %{micro}d %M %C %{X_PAD}e")
    hello = php_fixture("echo")
    pad = "p" * 900
    n = 200

    def client(k):
        for i in range(n // 8):
            fcgi.request(tfpm.sock, hello, query=f"c={k}&i={i}", params={"X_PAD": pad})

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = read_lines(tfpm.dir / "access.log", n)
    assert len(lines) == n
    pattern = re.compile(r"GET /index\.php c=\d&i=\d+ \d+ \d+ \d+\.\d\d " + pad + r"\n")
    assert all(pattern.fullmatch(line) for line in lines), [l for l in lines if not pattern.fullmatch(l)][:3]
    assert len({line.split()[2] for line in lines}) == n


def test_suppress_path(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=1, access_log="{dir}/access.log",
                        access_format="%m %r%Q%q %s", access_suppress_path=["/index.php", "/other.php"],
                        ping_path="/ping")
    echo = php_fixture("echo")
    fcgi.request(tfpm.sock, echo)                                  # suppressed
    fcgi.request(tfpm.sock, echo, method="HEAD")                   # suppressed
    fcgi.request(tfpm.sock, echo, query="a=1")                     # logged: query string
    fcgi.request(tfpm.sock, echo, method="POST", body=b"x=1",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})  # logged: body/method
    fcgi.request(tfpm.sock, echo, params={"SCRIPT_NAME": "/index.php/"})         # logged: not exact
    fcgi.request(tfpm.sock, "/nonexistent/index.php", params={"SCRIPT_NAME": "/index.php"})  # logged: 404
    fcgi.request(tfpm.sock, php_fixture("echo"), params={"SCRIPT_NAME": "/other.php"})  # suppressed
    fcgi.request(tfpm.sock, php_fixture("echo"), params={"SCRIPT_NAME": "/last.php"})   # logged
    lines = read_lines(tfpm.dir / "access.log", 5)
    assert lines == ["GET /index.php?a=1 200\n", "POST /index.php 200\n", "GET /index.php/ 200\n",
                     "GET /index.php 404\n", "GET /last.php 200\n"], lines


@pytest.mark.sanitize
@pytest.mark.parametrize("how", ["SIGUSR1", "pm-ctl"])
def test_reopen_after_rename(tfpm_factory, how):
    tfpm = tfpm_factory(processes=2, threads=2, access_log="{dir}/access.log", access_format="%m %q")
    echo = php_fixture("echo")
    log = tfpm.dir / "access.log"
    rotated = tfpm.dir / "access.log.1"
    for i in range(4):
        fcgi.request(tfpm.sock, echo, query=f"before={i}")
    read_lines(log, 4)
    log.rename(rotated)
    if how == "SIGUSR1":
        tfpm.send_signal(signal.SIGUSR1)
    else:
        assert tfpm.ctl("reopen-logs").stdout.strip() == "ok"
    # Every worker has reopened once a request on each lands in the new
    # file: keep sending until that is so for a few in a row.
    wait_until(log.exists, 10 * SLOW, what="a new access log after reopening")
    def all_in_new_file():
        before = rotated.read_text().count("\n")
        for i in range(8):
            fcgi.request(tfpm.sock, echo, query=f"after={i}")
        return rotated.read_text().count("\n") == before
    wait_until(all_in_new_file, 10 * SLOW, interval=0.2, what="every worker writing to the new file")
    old = rotated.read_text()
    assert old.count("GET before=") == 4 and old.count("\n") >= 4
    assert "GET after=" in log.read_text()
    assert all(l.startswith("GET ") for l in log.read_text().splitlines())


def test_worker_mode_requests_are_logged(tfpm_factory):
    tfpm = tfpm_factory(mode="worker", worker={"script": WORKER_APP}, processes=1, threads=1,
                        access_log="{dir}/access.log", access_format="%m %r %q %s %{Content-type}o")
    for i in range(3):
        r = fcgi.request(tfpm.sock, WORKER_APP, query=f"id={i}")
        assert r.status == 200
    lines = read_lines(tfpm.dir / "access.log", 3)
    assert [l.split(" ", 3)[:3] for l in lines] == [["GET", "/app.php", f"id={i}"] for i in range(3)], lines
    assert all(" 200 " in l for l in lines), lines


def test_log_limit_wraps_captured_output(tfpm_factory, tmp_path):
    script = tmp_path / "noisy.php"
    script.write_text("<?php file_put_contents('php://stderr', str_repeat('abcdefghij', 100) . \"\\n\"); echo 'ok';\n")
    tfpm = tfpm_factory(processes=1, threads=1, catch_workers_output=True, log_limit=600,
                        daemon={"error_log": "{dir}/daemon.log"})
    assert fcgi.request(tfpm.sock, str(script)).body == b"ok"
    log = tfpm.dir / "daemon.log"
    wait_until(lambda: log.exists() and "said into stderr" in log.read_text(), 10 * SLOW,
               what="the captured line in the log")
    wait_until(lambda: log.read_text().count("said into stderr") >= 2, 10 * SLOW, what="the wrapped pieces")
    lines = [l for l in log.read_text().splitlines() if "said into stderr" in l]
    assert len(lines) == 2, lines
    assert all(len(l.encode()) <= 599 for l in lines), [len(l) for l in lines]
    assert len(lines[0].encode()) == 599
    pieces = [l.split('said into stderr: "', 1)[1][:-1] for l in lines]
    assert "".join(pieces) == "abcdefghij" * 100


def test_captured_output_is_not_lost_when_the_pipe_is_full(tfpm_factory, tmp_path):
    """Before: the worker's end of the catch_workers_output pipe was
    non-blocking, so a write larger than the pipe failed with EAGAIN and the
    output was lost (fwrite returned less). As under php-fpm, a write waits
    for the supervisor to read."""
    script = tmp_path / "loud.php"
    script.write_text("<?php $e = fopen('php://stderr', 'w');\n"
                      "echo @fwrite($e, str_repeat(str_repeat('z', 99) . \"\\n\", 40000));\n")
    log = tmp_path / "daemon.log"
    tfpm = tfpm_factory(processes=1, threads=1, catch_workers_output=True, daemon={"error_log": str(log)})
    r = fcgi.request(tfpm.sock, str(script), timeout=60 * SLOW)
    assert r.status == 200 and r.body == b"4000000", r
    wait_until(lambda: log.read_text().count("z" * 99) >= 40000, 30 * SLOW, interval=0.2,
               what="all 40000 lines in the log")


def test_pool_and_env_expansion(tfpm_factory):
    logdir = tempfile.mkdtemp(prefix="tfpm-it-logs-", dir="/tmp")
    tfpm = tfpm_factory(processes=1, threads=1, process_env={"TFPM_IT_LOGDIR": logdir},
                        access_log="${TFPM_IT_LOGDIR}/$pool.access.log",
                        access_format="%n %{POOL_NAME}e %r", env={"POOL_NAME": "$pool"},
                        pools={"api": {"listen": "{dir}/$pool.sock", "processes": 1, "threads": 1,
                                       "access_log": "${TFPM_IT_LOGDIR}/$pool.access.log",
                                       "access_format": "%n %r"}})
    echo = php_fixture("echo")
    fcgi.request(tfpm.sock, echo)
    api_sock = str(tfpm.dir / "api.sock")
    assert os.path.exists(api_sock), "listen: {dir}/$pool.sock was not expanded"
    fcgi.request(api_sock, echo)
    assert read_lines(Path(logdir) / "www.access.log", 1) == ["www - /index.php\n"]
    assert read_lines(Path(logdir) / "api.access.log", 1) == ["api /index.php\n"]
    shutil_rmtree(logdir)


def run_test_mode(tmp_path, text, env=None):
    conf = tmp_path / "tfpm.yaml"
    conf.write_text(text)
    return subprocess.run([str(TFPM), *ALLOW_ROOT, "--test", "--config", str(conf)], capture_output=True, text=True,
                          timeout=30, env={**os.environ, **(env or {})})


def test_config_errors_name_the_place(tmp_path):
    base = f"pools:\n  www:\n    listen: {tmp_path}/www.sock\n"
    r = run_test_mode(tmp_path, base + "    access_log: /tmp/x.log\n    access_format: '%R %Z'\n")
    assert r.returncode != 0
    assert "tfpm.yaml:5: pools.www.access_format: Invalid token in the access.format (%Z)" in r.stderr, r.stderr
    r = run_test_mode(tmp_path, base + "    access_log: ${TFPM_IT_SURELY_UNSET}/a.log\n")
    assert r.returncode != 0
    assert "tfpm.yaml:4: pools.www.access_log: environment variable TFPM_IT_SURELY_UNSET is not set" in r.stderr, r.stderr
    r = run_test_mode(tmp_path, base + "    access_log: /nonexistent-dir/a.log\n")
    assert r.returncode != 0
    assert "pools.www.access_log: /nonexistent-dir/a.log: No such file or directory" in r.stderr, r.stderr
    r = run_test_mode(tmp_path, base + "    access_log: ${TFPM_IT_DIR}/$pool.log\n",
                      env={"TFPM_IT_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "www.log").exists()
