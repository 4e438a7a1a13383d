"""php.ini as Debian users have it: tfpm's own php.ini when the config names
none, a scan directory (conf.d) read after it, PHP_INI_SCAN_DIR surviving
clear_env, `tfpm -m/-i/--ini`, and extensions built for another PHP refused."""
import json
import subprocess

import fcgi
from helpers import BUILTIN, TFPM, php_fixture

SCRIPT = php_fixture("ini_values")


def ini_values(tfpm, *keys):
    r = fcgi.request(tfpm.sock, SCRIPT, query="k=" + ",".join(keys))
    assert r.status == 200, r
    return json.loads(r.body)


def test_without_ini_file_tfpm_uses_its_production_php_ini(tfpm_factory):
    t = tfpm_factory(processes=1, threads=1, ini_file=BUILTIN)
    v = ini_values(t, "display_errors", "expose_php", "log_errors", "max_execution_time",
                   "error_reporting", "opcache.enable")
    assert v["display_errors"] == ""        # Off: no paths in error pages
    assert v["expose_php"] == ""            # no X-Powered-By
    assert v["log_errors"] == "1"
    assert v["max_execution_time"] == "30"
    assert v["error_reporting"] == str(30719 & ~8192)  # E_ALL & ~E_DEPRECATED (PHP 8.4's E_ALL)
    assert v["@loaded"] == "(tfpm built-in php.ini)"
    r = fcgi.request(t.sock, php_fixture("echo"))
    assert "x-powered-by" not in r.headers, r.headers


def test_empty_ini_file_means_php_builtin_defaults(tfpm_factory):
    t = tfpm_factory(processes=1, threads=1, ini_file="", ini={"precision": "13"})
    v = ini_values(t, "expose_php", "max_execution_time", "precision")
    assert v["expose_php"] == "1"  # PHP's own default (the harness sets display_errors & co.)
    assert v["precision"] == "13"
    assert v["@loaded"] is False


def _scan_dir(tmp_path):
    d = tmp_path / "conf.d"
    d.mkdir()
    (d / "10-first.ini").write_text("precision = 11\nmemory_limit = 77M\n")
    (d / "20-second.ini").write_text("precision = 12\n")   # later file wins
    (d / "README").write_text("precision = 99\n")           # not *.ini: ignored
    (d / "30-calendar.ini").write_text("extension=calendar\n")  # shared extension of our build
    return d


def test_scan_dir_is_read_after_php_ini_in_name_order(tfpm_factory, tmp_path):
    d = _scan_dir(tmp_path)
    ini = tmp_path / "php.ini"
    ini.write_text("precision = 5\nmemory_limit = 64M\ndefault_charset = ISO-8859-1\n")
    t = tfpm_factory(processes=1, threads=2, ini_file=str(ini), scan_dir=str(d))
    v = ini_values(t, "precision", "memory_limit", "default_charset")
    assert v == {**v, "precision": "12", "memory_limit": "77M", "default_charset": "ISO-8859-1"}
    assert v["@loaded"] == str(ini)
    assert v["@scanned"].replace("\n", "").split(",") == [
        f"{d}/10-first.ini", f"{d}/20-second.ini", f"{d}/30-calendar.ini"]
    assert "calendar" in v["@extensions"]


def test_php_ini_scan_dir_from_the_environment_survives_clear_env(tfpm_factory, tmp_path):
    d = _scan_dir(tmp_path)
    t = tfpm_factory(processes=1, threads=1, ini_file=BUILTIN, clear_env=True,
                     process_env={"PHP_INI_SCAN_DIR": str(d)})
    v = ini_values(t, "precision")
    assert v["precision"] == "12"
    assert "calendar" in v["@extensions"]
    # ... but PHP code does not see it: clear_env holds.
    r = fcgi.request(t.sock, php_fixture("ini"))
    assert json.loads(r.body)["env"] is False


def test_scan_dir_empty_ignores_the_environment(tfpm_factory, tmp_path):
    d = _scan_dir(tmp_path)
    t = tfpm_factory(processes=1, threads=1, ini_file=BUILTIN, scan_dir="",
                     process_env={"PHP_INI_SCAN_DIR": str(d)})
    v = ini_values(t, "precision")
    assert v["precision"] == "14"
    assert v["@scanned"] is False


def _cli(*args, env=None):
    return subprocess.run([str(TFPM), *args], capture_output=True, text=True, timeout=60, env=env)


def test_ini_and_info_and_modules_show_what_a_worker_loads(tmp_path):
    d = _scan_dir(tmp_path)
    cfg = tmp_path / "tfpm.yaml"
    cfg.write_text(f'php:\n  scan_dir: "{d}"\npools:\n  www:\n    listen: "{tmp_path}/s.sock"\n')
    r = _cli("--ini", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Loaded Configuration File:         (tfpm built-in php.ini)"
    assert lines[1] == f"Scan for additional .ini files in: {d}"
    assert lines[2] == f"Additional .ini files parsed:      {d}/10-first.ini,"
    assert lines[4] == f"{d}/30-calendar.ini"
    r = _cli("-m", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "calendar" in r.stdout.split("[Zend Modules]")[0].split()
    r = _cli("-i", "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "PHP Version => 8.4." in r.stdout
    assert "Thread Safety => enabled" in r.stdout
    assert "precision => 12 => 12" in r.stdout
    assert f"Additional .ini files parsed => {d}/10-first.ini" in r.stdout


def test_an_extension_built_for_another_php_refuses_the_start(tfpm_factory, tmp_path):
    # Debian's php8.2 extensions: NTS and another module API.
    d = tmp_path / "conf.d"
    d.mkdir()
    (d / "20-shmop.ini").write_text("extension=/usr/lib/php/20220829/shmop.so\n")
    t = tfpm_factory(processes=1, threads=1, scan_dir=str(d), wait_ready=False)
    assert t.proc.wait(60) != 0
    log = t.log_text()
    # NTS builds fail with "undefined symbol" (named by path), builds for
    # another module API with "Unable to initialize module" (named by module);
    # which one depends on the php8.2 package's version.
    refused = [line for line in log.splitlines() if "PHP refused to load extension(s) built for another PHP: " in line]
    assert refused and "shmop" in refused[0], log
    assert "tools/ext build" in log
