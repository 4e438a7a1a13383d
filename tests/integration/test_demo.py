"""What a new user sees first: the built-in config, the module list, and a
page served through tfpm by a ZTS PHP."""
import json
import re
import subprocess

import fcgi
from helpers import SLOW, TFPM, php_fixture

REQUIRED_MODULES = [
    "Zend OPcache", "mbstring", "intl", "ctype", "tokenizer", "iconv", "dom", "SimpleXML", "xml",
    "xmlreader", "xmlwriter", "fileinfo", "filter", "session", "sodium", "openssl", "curl", "zlib",
    "zip", "bcmath", "exif", "gd", "sockets", "posix", "PDO", "pdo_sqlite", "sqlite3", "mysqlnd",
    "mysqli", "pdo_mysql",
]


def run(*args):
    return subprocess.run([str(TFPM), *args], capture_output=True, text=True, timeout=60 * SLOW)


def test_default_config_validates(tmp_path):
    r = run("--print-default-config")
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert re.search(r"^pools:\s*$", text, re.M)
    assert re.search(r"^\s+listen:\s*\S+", text, re.M)
    path = tmp_path / "default.yaml"
    path.write_text(text)
    t = run("--config", str(path), "--test")
    assert t.returncode == 0, t.stderr
    assert f"configuration file {path} test is successful" in t.stdout
    # Without --config the same built-in configuration is checked.
    b = run("--test")
    assert b.returncode == 0, b.stderr
    assert "<built-in>" in b.stdout


def test_modules_list():
    r = run("-m")
    assert r.returncode == 0, r.stderr
    # php -m's layout: "[PHP Modules]" then "[Zend Modules]", one name a line.
    sections, current = {}, None
    for line in (line.strip() for line in r.stdout.splitlines()):
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line, [])
        elif line:
            assert current is not None, r.stdout
            current.append(line)
    php_modules = sections.get("[PHP Modules]", [])
    zend_modules = sections.get("[Zend Modules]", [])
    assert len(php_modules) == len(set(php_modules)), "a module is listed twice"
    missing = [m for m in REQUIRED_MODULES if m not in php_modules]
    assert not missing, f"missing PHP modules: {missing}\n{r.stdout}"
    assert "Zend OPcache" in zend_modules, r.stdout
    assert "tfpm" in php_modules  # fastcgi_finish_request(), getallheaders()


def test_version():
    r = run("--version")
    assert r.returncode == 0
    assert re.match(r"^tfpm \S+ \(PHP 8\.4\.\d+, ZTS", r.stdout), r.stdout


def test_page_reports_zts(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2)
    r = fcgi.request(tfpm.sock, php_fixture("info"))
    assert r.status == 200, r
    info = json.loads(r.body)
    # PHP 8.4 made PHP_ZTS a bool (PHP_ZTS === 1 only held up to 8.3).
    assert info["zts"] is True and info["zts_is_true"] is True and info["zts_equals_1"] is True
    assert info["sapi"] == "fpm-fcgi"
    assert info["version"].startswith("8.4.")
    assert info["display_errors"] == "0"
    assert info["opcache"] is True
    for ext in ("mbstring", "intl", "pdo_sqlite", "sodium", "Zend OPcache"):
        assert ext in info["extensions"], ext
