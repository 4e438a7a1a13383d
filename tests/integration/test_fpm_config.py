"""php-fpm's own configuration under tfpm (docs/migrating.md).

* Debian's stock /etc/php/8.2/fpm/php-fpm.conf + pool.d/www.conf + php.ini,
  copied with only the paths that would touch the system (pid, error_log,
  the include directory, the socket) moved into the test directory, run
  under `tfpm --fpm-config` and serve; `-t`, `-R`, reload re-reading the
  php-fpm files; `pm-ctl import-fpm` writes YAML that `tfpm --test` takes.
* tests/fpm/realworld (several pools, an include inside a pool, env[],
  php_admin_value, access log formats, status/ping paths, unix and TCP
  listeners with owners and modes, ondemand/dynamic/static) runs under
  php-fpm 8.2 and under tfpm --fpm-config; each pool is compared: socket
  modes and owners, $_SERVER/getenv()/INI values, status page fields,
  access log lines.
"""
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

import fcgi
from helpers import (FPM_BIN, PHP_DIR, PM_CTL, REPO, SLOW, TFPM, PhpFpm, debian_fpm_files, free_port,
                     php_fixture, wait_until)

DEBIAN = Path("/etc/php/8.2/fpm")
ECHO = php_fixture("echo")
POOL_DUMP = php_fixture("fpm_pool")
REALWORLD = REPO / "tests" / "fpm" / "realworld"


def debian_files():
    """Debian's php-fpm.conf, www.conf (helpers.debian_fpm_files: the system
    paths replaced by "{dir}/...") and php.ini."""
    assert (DEBIAN / "php.ini").is_file(), f"{DEBIAN / 'php.ini'} is missing: tools/setup installs php8.2-fpm"
    conf, files = debian_fpm_files()
    return conf, {**files, "php.ini": (DEBIAN / "php.ini").read_text()}


def start_debian(tfpm_factory, args=("-R",)):
    conf, files = debian_files()
    t = tfpm_factory(fpm_config=conf, fpm_files=files, fpm_args=list(args))
    t.sock = str(t.dir / "www.sock")
    return t


def run_tfpm(*args):
    env = dict(os.environ)
    return subprocess.run([str(TFPM), *args], capture_output=True, text=True, timeout=30 * SLOW, env=env)


@pytest.mark.sanitize
def test_debian_stock_configuration_serves(tfpm_factory):
    t = start_debian(tfpm_factory)
    r = fcgi.request(t.sock, ECHO, query="a=1")
    assert r.status == 200, r
    body = json.loads(r.body)
    assert body["get"] == {"a": "1"}
    assert body["sapi"] == "fpm-fcgi"
    # Debian's www.conf: listen.owner/group www-data, mode 0660.
    st = os.stat(t.sock)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert pwd.getpwuid(st.st_uid).pw_name == "www-data"
    log = t.log_text()
    # One line per directive not honoured, with the reason and the place.
    # Debian's user/group = www-data: the worker runs PHP as www-data.
    www_data = pwd.getpwnam("www-data")
    for pid in t.worker_pids():
        uids = [line.split()[1:] for line in open(f"/proc/{pid}/status") if line.startswith("Uid:")][0]
        assert uids == [str(www_data.pw_uid)] * 4, uids
    # php.ini beside php-fpm.conf, as Debian's php-fpm finds it.
    assert f"NOTICE: php.ini: {t.dir}/php.ini" in log
    # pm = dynamic, max_children 5 -> one process of 5 threads (docs/migrating.md).
    pool = t.status()["pools"][0]
    assert pool["name"] == "www" and pool["pm"] == "dynamic"


FPM_EXT = php_fixture("fpm_ext")
# Debian's php8.2 conf.d names these; tfpm's PHP has them built in or as
# its own shared files (calendar, gettext, xsl), or not at all (the rest).
BUILTIN_OR_OURS = ("mysqli", "pdo_mysql", "mbstring", "intl", "gd", "posix", "calendar", "gettext", "xsl")
LACKING = ("ffi", "ftp", "readline", "shmop", "sysvmsg", "sysvsem", "sysvshm")


def debian_conf_d():
    """Debian's /etc/php/8.2/fpm/conf.d (links into mods-available), as files."""
    conf_d = DEBIAN / "conf.d"
    assert conf_d.is_dir(), f"{conf_d} is missing: tools/setup installs php8.2-fpm"
    return {f"conf.d/{p.name}": p.read_text() for p in sorted(conf_d.iterdir()) if p.name.endswith(".ini")}


def test_debian_service_exec_start_runs_unchanged_as_www_data(tfpm_factory):
    """Debian's php8.2-fpm.service ExecStart with only the binary swapped:
    `--nodaemonize --fpm-config php-fpm.conf`, no -R, as root; the stock
    php.ini and conf.d written for PHP 8.2. PHP runs as www-data; every
    extension= line is looked up by name: what tfpm's PHP has is loaded (a
    PHP 8.2 path too), what it lacks is skipped with one line each."""
    assert os.geteuid() == 0, "this test runs as root, as Debian's php8.2-fpm.service does"
    conf, files = debian_files()
    files.update(debian_conf_d())
    # An absolute path into PHP 8.2's extension directory (its ABI cannot
    # load: "undefined symbol"): taken by name, tfpm's own gettext.so.
    files["conf.d/20-gettext.ini"] = "extension=/usr/lib/php/20220829/gettext.so\n"
    t = tfpm_factory(fpm_config=conf, fpm_files=files, fpm_options=["--nodaemonize", "--fpm-config"],
                     fpm_args=[], allow_root=False)
    sock = str(t.dir / "www.sock")
    r = fcgi.request(sock, FPM_EXT, query="ext=" + ",".join(BUILTIN_OR_OURS + LACKING) +
                     "&ini=session.sid_length,memory_limit")
    assert r.status == 200, r
    body = json.loads(r.body)
    assert body["user"] == "www-data", body
    assert body["ext"] == {**{n: True for n in BUILTIN_OR_OURS}, **{n: False for n in LACKING}}, body["ext"]
    assert body["loaded_file"] == f"{t.dir}/php.ini"
    assert f"{t.dir}/conf.d/20-mysqli.ini" in body["scanned"], body["scanned"]
    # Debian's php.ini values are in force.
    assert body["ini"]["memory_limit"] == "128M" and body["ini"]["session.sid_length"] == "26", body["ini"]
    for _ in range(10):  # several threads serve (dynamic: more start)
        assert fcgi.request(sock, FPM_EXT).status == 200
    # Debian's error_log (moved here) gets the daemon's and workers' lines.
    log = t.log_text() + (t.dir / "php-fpm.log").read_text()
    for name in LACKING:
        lines = [l for l in log.splitlines() if f"extension={name}.so: skipped: " in l]
        assert len(lines) == 1, (name, log)
        assert f"conf.d/20-{name}.ini:3" in lines[0], lines[0]
    assert "Unable to load dynamic library" not in log, log
    assert "already loaded" not in log, log
    assert "refused to load" not in log, log
    # Debian's error_reporting leaves E_DEPRECATED out, so PHP itself says
    # nothing about the settings PHP 8.4 deprecates; tfpm names each of the
    # stock php.ini's once, with its line.
    stock = (DEBIAN / "php.ini").read_text().splitlines()
    for key, value in (("session.sid_length", "26"), ("session.sid_bits_per_character", "5")):
        number = stock.index(f"{key} = {value}") + 1
        line = f"php.ini {t.dir}/php.ini:{number}: {key} = {value}: deprecated in PHP 8.4"
        assert log.count(line) == 1, (line, log)
    assert "-R" not in " ".join(t.command) and "--allow-to-run-as-root" not in t.command


def test_debian_stock_configuration_as_root_needs_allow_to_run_as_root_only_without_user(tmp_path):
    conf, files = debian_files()
    (tmp_path / "php-fpm.conf").write_text(conf.replace("{dir}", str(tmp_path)))
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text.replace("{dir}", str(tmp_path)))
    assert os.geteuid() == 0, "this test runs as root, as Debian's php8.2-fpm.service does"
    # pm-ctl import-fpm keeps the stock files' ';' comments above the keys
    # they describe, and tfpm --test takes the result.
    stock = tmp_path / "stock.yaml"
    imp = subprocess.run([str(PM_CTL), "import-fpm", str(tmp_path / "php-fpm.conf"), "-o", str(stock)],
                         capture_output=True, text=True, timeout=30)
    assert imp.returncode == 0, imp.stderr
    yaml = stock.read_text()
    assert re.search(r"\n  # Start a new pool named 'www'\.\n(  #.*\n)*  \"www\":", yaml), yaml
    assert re.search(r"\n    # Unix user/group of the child processes.*\n(    #.*\n)*    user: \"www-data\"", yaml), yaml
    assert re.search(r"\n    # Note: This value is mandatory\.\n    pm: dynamic", yaml), yaml
    assert re.search(r"\n  # Pid file\n(  #.*\n)*  pid_file: ", yaml), yaml
    # php.ini beside php-fpm.conf, as --fpm-config finds it; its extension
    # lines by name.
    assert f'ini_file: "{tmp_path}/php.ini"' in yaml and "extensions_by_name: true" in yaml, yaml
    checked = run_tfpm("--config", str(stock), "--test")
    assert checked.returncode == 0, checked.stderr
    # user = www-data: accepted as root without -R, as php-fpm does.
    plain = run_tfpm("--fpm-config", str(tmp_path / "php-fpm.conf"), "-t")
    assert plain.returncode == 0, plain.stderr
    # Without user (or with user root) it needs -R, as php-fpm.
    www = tmp_path / "pool.d" / "www.conf"
    www.write_text(re.sub(r"^(user|group) = .*$", "", www.read_text(), flags=re.M))
    refused = run_tfpm("--fpm-config", str(tmp_path / "php-fpm.conf"), "-t")
    assert refused.returncode == 1, refused
    assert "pools.www: no user: PHP would run as root" in refused.stderr, refused.stderr
    ok = run_tfpm("-y", str(tmp_path / "php-fpm.conf"), "--test", "-R")
    assert ok.returncode == 0, ok.stderr
    assert f"NOTICE: configuration file {tmp_path}/php-fpm.conf test is successful" in ok.stderr
    # pm-ctl import-fpm writes YAML that tfpm --test accepts.
    out = tmp_path / "tfpm.yaml"
    imp = subprocess.run([str(PM_CTL), "import-fpm", str(tmp_path / "php-fpm.conf"), "-o", str(out)],
                         capture_output=True, text=True, timeout=30)
    assert imp.returncode == 0, imp.stderr
    yaml = out.read_text()
    assert f"  # {tmp_path}/pool.d/www.conf:" in yaml  # the YAML names its sources
    # Without user in www.conf the imported pool has none: as root it needs
    # --allow-root like the -y run above.
    checked = run_tfpm("--config", str(out), "--test", "--allow-root")
    assert checked.returncode == 0, checked.stderr
    assert f"configuration file {out} test is successful" in checked.stdout


def test_php_fpm_errors_name_file_and_line(tmp_path):
    (tmp_path / "pool.d").mkdir()
    (tmp_path / "php-fpm.conf").write_text(f"[global]\nerror_log = {tmp_path}/log\ninclude = {tmp_path}/pool.d/*.conf\n")
    (tmp_path / "pool.d" / "a.conf").write_text("[a]\nlisten = 9000\npm = static\npm.max_children = lots\n")
    r = run_tfpm("-y", str(tmp_path / "php-fpm.conf"), "-t")
    assert r.returncode == 1
    assert (f"ERROR: [{tmp_path}/pool.d/a.conf:4] unable to parse value for entry 'pm.max_children': is not a "
            f"valid number (greater or equal than zero)") in r.stderr
    imp = subprocess.run([str(PM_CTL), "import-fpm", str(tmp_path / "php-fpm.conf")], capture_output=True,
                         text=True, timeout=30)
    assert imp.returncode == 1
    assert f"[{tmp_path}/pool.d/a.conf:4] unable to parse value for entry 'pm.max_children'" in imp.stderr


def test_reload_reads_the_php_fpm_files_again(tfpm_factory):
    t = start_debian(tfpm_factory)
    www = t.dir / "pool.d" / "www.conf"
    status_req = {"SCRIPT_NAME": "/status", "REQUEST_URI": "/status"}
    before = fcgi.request(t.sock, "/srv/nonexistent/status", params=status_req)
    assert before.status == 404, before
    www.write_text(www.read_text() + "\npm.status_path = /status\n")
    r = t.ctl("reload")
    assert "ok: generation 2" in r.stdout
    after = fcgi.request(t.sock, "/srv/nonexistent/status", params=status_req)
    assert after.status == 200, after
    fields = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in after.body.decode().splitlines()
                                                if ":" in line)}
    assert fields["pool"] == "www" and fields["process manager"] == "dynamic", fields
    # A bad line refuses the reload with php-fpm's file:line; the old
    # configuration keeps serving.
    lines = www.read_text().count("\n")
    www.write_text(www.read_text() + "bogus.directive = 1\n")
    bad = t.ctl("reload", check=False)
    assert bad.returncode == 1
    assert f"[{www}:{lines + 1}] unknown entry 'bogus.directive'" in bad.stderr
    assert fcgi.request(t.sock, ECHO).status == 200
    # pm-ctl config-test takes php-fpm files in this mode, with the same messages.
    tested = t.ctl("config-test", str(t.dir / "php-fpm.conf"), check=False)
    assert tested.returncode == 1
    assert f"[{www}:{lines + 1}] unknown entry 'bogus.directive'" in tested.stderr
    www.write_text(www.read_text().replace("bogus.directive = 1\n", ""))
    good = t.ctl("config-test", str(t.dir / "php-fpm.conf"))
    assert f"configuration file {t.dir}/php-fpm.conf test is successful" in good.stdout


# ------------------------------------------------------------ real world ---

POOLS = ("api", "legacy", "shop")


def realworld_files(directory, api_port):
    """The fixture's files by relative path, {dir}, {api_port} and {docroot} filled in,
    plus the directories its paths need."""
    out = {}
    for path in sorted(REALWORLD.rglob("*")):
        if path.is_file():
            text = (path.read_text().replace("{dir}", str(directory)).replace("{api_port}", str(api_port))
                    .replace("{docroot}", str(PHP_DIR)))
            out[str(path.relative_to(REALWORLD))] = text
    for sub in ("run", "log", "tmp", "lib"):
        out[f"{sub}/.keep"] = ""
    return out


def pool_address(directory, pool, api_port):
    return ("127.0.0.1", api_port) if pool == "api" else f"{directory}/run/{pool}.sock"


def pool_request(address, script, query="", headers=None, params=None):
    if isinstance(address, tuple):
        conn = fcgi.connect(address)
        try:
            return fcgi.request(None, script, query=query, headers=headers, params=params, sock=conn)
        finally:
            conn.close()
    return fcgi.request(address, script, query=query, headers=headers, params=params)


def normalize(data, directory, api_port):
    return data.replace(str(directory), "<dir>").replace(str(api_port), "<port>")


def observe(directory, api_port):
    """What the comparison looks at, per pool, with the instance's
    directory and port masked."""
    seen = {}
    for pool in POOLS:
        address = pool_address(directory, pool, api_port)
        info = {}
        if not isinstance(address, tuple):
            st = os.stat(address)
            info["socket"] = (oct(stat.S_IMODE(st.st_mode)), pwd.getpwuid(st.st_uid).pw_name)
        r = pool_request(address, POOL_DUMP,
                         query="ini=memory_limit,error_reporting,display_errors,include_path,precision,"
                               "upload_max_filesize,max_execution_time,default_charset,open_basedir,log_errors",
                         headers={"Host": "shop.example", "X-Request-Id": "req-1"})
        assert r.status == 200, (pool, r)
        dump = json.loads(normalize(r.body.decode(), directory, api_port))
        # E_ALL & ~X: PHP 8.2's E_ALL has E_STRICT (2048), 8.4's has not.
        if dump["ini"].get("error_reporting"):
            dump["ini"]["error_reporting"] = str(int(dump["ini"]["error_reporting"]) & ~2048)
        info["dump"] = dump
        info["status"] = r.status
        seen[pool] = info
    # Status pages: the field names and the pool's identity.
    for pool, path in (("shop", "/fpm-status"), ("api", "/api-status")):
        r = pool_request(pool_address(directory, pool, api_port), "/srv/nonexistent" + path, query="json",
                         params={"SCRIPT_NAME": path, "REQUEST_URI": path + "?json"})
        assert r.status == 200, (pool, r)
        page = json.loads(r.body)
        seen[pool]["status_fields"] = sorted(page)
        seen[pool]["status_identity"] = (page["pool"], page["process manager"])
    r = pool_request(pool_address(directory, "shop", api_port), "/srv/nonexistent/fpm-ping",
                     params={"SCRIPT_NAME": "/fpm-ping", "REQUEST_URI": "/fpm-ping"})
    seen["shop"]["ping"] = (r.status, r.body)
    return seen


def access_lines(directory, name, count, api_port):
    path = Path(directory) / "log" / name
    wait_until(lambda: path.exists() and path.read_text().count("\n") >= count, 10 * SLOW,
               what=f"{count} lines in {path}")
    return normalize(path.read_text(), directory, api_port).splitlines()


@pytest.fixture
def realworld_php_fpm():
    d = Path(tempfile.mkdtemp(prefix="tfpm-it-fpmrw-", dir="/tmp"))
    port = free_port()
    files = realworld_files(d, port)
    for rel, text in files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(text)
    fpm = PhpFpm(d, files["php-fpm.conf"],
                 ready=lambda: all(os.path.exists(f"{d}/run/{p}.sock") for p in ("shop", "legacy")))
    wait_until(lambda: fcgi_connects(("127.0.0.1", port)), 10 * SLOW, what="php-fpm's api pool")
    fpm.port = port
    yield fpm
    fpm.stop()
    shutil.rmtree(d, ignore_errors=True)


def fcgi_connects(address):
    try:
        fcgi.connect(address, timeout=1).close()
        return True
    except OSError:
        return False


def test_realworld_pools_behave_as_under_php_fpm(tfpm_factory, realworld_php_fpm):
    port = free_port()
    files = realworld_files("{dir}", port)
    main = files.pop("php-fpm.conf")
    # As root with -R (no pool sets `user`), without php.ini, like php-fpm here.
    t = tfpm_factory(fpm_config=main, fpm_files=files, fpm_args=["-R", "-n"], expected_processes=3)
    ours = observe(t.dir, port)
    theirs = observe(realworld_php_fpm.dir, realworld_php_fpm.port)
    for pool in POOLS:
        a, b = ours[pool], theirs[pool]
        assert a.get("socket") == b.get("socket"), pool
        assert a["dump"]["env"] == b["dump"]["env"], pool
        if pool != "legacy":
            # Not set by these pools: the build's default differs (Debian's
            # php-fpm is built with ".:/usr/share/php").
            a["dump"]["ini"].pop("include_path")
            b["dump"]["ini"].pop("include_path")
        assert a["dump"]["ini"] == b["dump"]["ini"], pool
        assert a["dump"]["sapi"] == b["dump"]["sapi"] == "fpm-fcgi"
        server_a = {k: v for k, v in a["dump"]["server"].items() if k not in ("REMOTE_PORT",)}
        server_b = {k: v for k, v in b["dump"]["server"].items() if k not in ("REMOTE_PORT",)}
        assert server_a == server_b, pool
    for pool in ("shop", "api"):
        # tfpm adds fields after php-fpm's (docs/fpm-differences.md): its
        # timeout counters and the connection limits' (docs/security.md).
        extra = {"terminated requests", "rejected requests", "memory peak", "connections refused",
                 "idle connections closed", "header timeouts", "params refused", "output limit closed",
                 "protocol errors", "accept errors", "process recycles max requests", "process recycles memory",
                 "memory recycles", "idle trims", "clients refused", "user ini cache full",
                 # restarts by cause and leak_check (base/restart_cause.h)
                 "restarts crash", "restarts exit", "restarts max requests", "restarts memory",
                 "restarts watch", "restarts reload", "restarts timeout", "restarts recycle", "state leaks",
                 # worker processes' restarts by cause (supervisor/exit_cause.h)
                 "process restarts crash", "process restarts exit", "process restarts max requests",
                 "process restarts memory", "process restarts watch", "process restarts reload",
                 "process restarts timeout", "process restarts recycle",
                 # the pool's worker processes and their resident memory
                 "worker processes", "resident bytes", "resident bytes max"}
        assert set(ours[pool]["status_fields"]) - extra == set(theirs[pool]["status_fields"]) - extra, pool
        assert ours[pool]["status_identity"] == theirs[pool]["status_identity"], pool
    assert ours["shop"]["ping"] == theirs["shop"]["ping"] == (200, b"shop-alive")
    # The access logs: each pool's format, the same lines (the status and
    # ping requests included).
    for name, count in (("shop.access.log", 3), ("api.access.log", 2)):
        assert access_lines(t.dir, name, count, port) == \
            access_lines(realworld_php_fpm.dir, name, count, realworld_php_fpm.port), name
    # The notes tfpm printed for the directives it changes.
    assert re.search(r"\] pm.max_requests = 500: changed: a process is replaced after \d+ requests \(500 x \d+ "
                     r"threads, process_max_requests\), each thread's interpreter after 500 \(max_requests\)",
                     t.log_text())


def test_php_fpm_command_line_prefix_pid_define_and_php_ini(tfpm_factory):
    """-p makes relative paths (include, listen, access.log) the prefix's,
    -g replaces `pid`, -c picks php.ini and -d adds to it."""
    conf = ("[global]\npid = {dir}/ignored.pid\nerror_log = log/fpm.log\ninclude = etc/*.conf\n")
    pool = ("[www]\nlisten = run/www.sock\npm = static\npm.max_children = 2\naccess.log = log/access.log\n"
            "access.format = \"%n %s\"\n")
    t = tfpm_factory(fpm_config=conf,
                     fpm_files={"etc/www.conf": pool, "run/.keep": "", "log/.keep": "",
                                "custom.ini": "precision = 9\nmemory_limit = 64M\n"},
                     fpm_args=["-R", "-p", "{dir}", "-g", "{dir}/run/tfpm.pid", "-c", "{dir}/custom.ini",
                               "-d", "memory_limit=77M", "-dmax_execution_time=13"])
    sock = str(t.dir / "run" / "www.sock")
    r = fcgi.request(sock, POOL_DUMP, query="ini=precision,memory_limit,max_execution_time")
    assert r.status == 200, r
    assert json.loads(r.body)["ini"] == {"precision": "9", "memory_limit": "77M", "max_execution_time": "13"}
    assert (t.dir / "run" / "tfpm.pid").read_text().strip() == str(t.pid)
    assert not (t.dir / "ignored.pid").exists()
    assert (t.dir / "log" / "fpm.log").exists()
    wait_until(lambda: (t.dir / "log" / "access.log").exists() and
               (t.dir / "log" / "access.log").read_text() == "www 200\n", 10 * SLOW, what="the access log line")



def test_php_84_deprecated_settings_are_reported_once_with_file_and_line(tfpm_factory):
    """A php.ini written for PHP 8.2 with settings PHP 8.3/8.4 deprecate or
    removed: the pool starts and serves with the values in force; each line
    is named once per pool start (not once per process or thread) with its
    file:line and what to do, and PHP's own "in Unknown on line 0" message
    for it is not repeated. A conf.d file over php.ini_max_file_size is
    skipped with one line."""
    conf = "[global]\nerror_log = {dir}/php-fpm.log\ninclude = {dir}/pool.d/*.conf\n"
    pool = ("[www]\nlisten = {dir}/www.sock\npm = static\npm.max_children = 4\ntfpm.processes = 2\n")
    php_ini = ("[PHP]\n"
               "error_reporting = E_ALL\n"
               "log_errors = On\n"
               "session.sid_length = 26\n"                  # line 4
               "session.sid_bits_per_character = 5\n"       # line 5
               "session.use_only_cookies = 1\n"             # fine
               "assert.active = Off\n")                     # line 7
    files = {"pool.d/www.conf": pool, "php.ini": php_ini,
             "conf.d/10-opcache.ini": "; old\nopcache.consistency_checks = 0\n",
             "conf.d/90-huge.ini": "; padding\n" + ";" * (5 << 20) + "\n"}
    t = tfpm_factory(fpm_config=conf, fpm_files=files, fpm_args=["-R"], expected_processes=2)
    sock = str(t.dir / "www.sock")
    for _ in range(6):  # both processes, several threads
        r = fcgi.request(sock, POOL_DUMP, query="ini=session.sid_length,assert.active")
        assert r.status == 200, r
    assert json.loads(r.body)["ini"] == {"session.sid_length": "26", "assert.active": ""}
    log = t.log_text() + (t.dir / "php-fpm.log").read_text()
    expected = [
        f"php.ini {t.dir}/php.ini:4: session.sid_length = 26: deprecated in PHP 8.4",
        f"php.ini {t.dir}/php.ini:5: session.sid_bits_per_character = 5: deprecated in PHP 8.4",
        f"php.ini {t.dir}/php.ini:7: assert.active = : deprecated in PHP 8.3",
        f"php.ini {t.dir}/conf.d/10-opcache.ini:2: opcache.consistency_checks = 0: removed in PHP 8.3",
        f"php.ini {t.dir}/conf.d/90-huge.ini: skipped: larger than php.ini_max_file_size (4194304 bytes)",
    ]
    for line in expected:
        assert log.count(line) == 1, (line, log)
    assert "use_only_cookies" not in log, log
    assert "session.sid_length INI setting is deprecated" not in log, log  # PHP's own, said by ours
    assert len(t.worker_pids()) == 2
