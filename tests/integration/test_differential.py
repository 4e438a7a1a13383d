"""Differential test: the same FastCGI requests to Debian's php-fpm 8.2 and to
tfpm, with the same docroot (tests/php/differential) and the same php.ini.

Every comparison runs twice (the `via` parameter):
* via=yaml: tfpm from its own YAML (one process, one thread);
* via=debian: tfpm from Debian's stock /etc/php/8.2/fpm/php-fpm.conf and
  pool.d/www.conf (helpers.debian_fpm_files: only the pid file, error log,
  include directory and listen socket moved into the test's directory),
  started as Debian's php8.2-fpm.service starts php-fpm (`--nodaemonize
  --fpm-config php-fpm.conf`, as root, no -R) plus `-c` with the shared
  php.ini. Debian's pool runs PHP as www-data with pm = dynamic, so php-fpm
  (the yardstick, still on the test's own php-fpm.conf with a fresh child
  per request) runs its PHP as www-data too.

Each case sends one request straight over FastCGI to both servers and
compares the raw FCGI_STDOUT (status, headers, body) and FCGI_STDERR bytes
and the END_REQUEST app status, after masking what legitimately varies
(PHP version strings, session ids, upload temp names).

A case is either equal, or names a difference documented in
docs/fpm-differences.md and gives the exact transformation from php-fpm's
output to ours: the case then fails if tfpm behaves like php-fpm again or in
any third way.
"""
import os
import pwd
import re
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

import fcgi
from helpers import FPM_BIN, PHP_DIR, REPO, PhpFpm, debian_fpm_files, multipart

ROOT = str(PHP_DIR / "differential")
VIAS = ("yaml", "debian")
DIFFERENCES_DOC = REPO / "docs" / "fpm-differences.md"

PHP_INI = """\
; Shared by php-fpm 8.2 and tfpm in the differential test.
display_errors = 1
display_startup_errors = 0
log_errors = 1
error_reporting = E_ALL
html_errors = 0
output_buffering = 4096
expose_php = 1
variables_order = "GPCS"
request_order = "GP"
date.timezone = UTC
session.save_path = "{dir}/sessions"
session.use_strict_mode = 0
upload_tmp_dir = "{dir}/uploads"
sys_temp_dir = "{dir}"
cgi.fix_pathinfo = {fix_pathinfo}
; Debian's php-fpm is built with ".:/usr/share/php".
include_path = "."

; Per-directory and per-host sections (php-fpm's sapi_cgi_activate).
[PATH={root}/sub/dir]
precision = 11
[HOST=example.org]
precision = 12
serialize_precision = 6
"""

FPM_CONF = """\
[global]
error_log = {dir}/php-fpm.log
pid = {dir}/php-fpm.pid
daemonize = no
log_level = notice

; Classic comparisons: a fresh child per request, so that php-fpm's sticky
; PHP_VALUE/PHP_ADMIN_VALUE cannot leak from one case into the next.
[www]
listen = {dir}/fpm.sock
pm = static
pm.max_children = 1
pm.max_requests = 1
clear_env = yes
security.limit_extensions = .php

{user_pool}
; One long-lived child: shows php-fpm's sticky PHP_VALUE.
[sticky]
listen = {dir}/fpm-sticky.sock
pm = static
pm.max_children = 1
pm.max_requests = 0
clear_env = yes
security.limit_extensions = .php
"""

USER_POOL = """\
user = {user}
group = {user}
"""


def start_php_fpm(directory, ini_path, user=None):
    """php-fpm with the pools above (helpers.PhpFpm), running as root like
    the tfpm under test; `.sock` and `.sticky_sock` are its two pools."""
    directory = Path(directory)
    fpm = PhpFpm(directory, FPM_CONF.format(dir=directory, user_pool=USER_POOL.format(user=user) if user else ""),
                 ready=lambda: (directory / "fpm.sock").exists() and (directory / "fpm-sticky.sock").exists(),
                 ini=ini_path)
    fpm.sock = str(directory / "fpm.sock")
    fpm.sticky_sock = str(directory / "fpm-sticky.sock")
    return fpm


class Pair:
    """php-fpm and tfpm sharing one php.ini, sessions and upload dirs."""

    def __init__(self, tfpm_factory, fix_pathinfo, user=None, via="yaml"):
        if via == "debian":
            user = "www-data"  # Debian's www.conf: user = group = www-data
        self.user = user
        self.dir = Path(tempfile.mkdtemp(prefix="tfpm-it-diff-", dir="/tmp"))
        for sub in ("sessions", "uploads"):
            (self.dir / sub).mkdir()
        self.ini = self.dir / "php.ini"
        self.ini.write_text(PHP_INI.format(dir=self.dir, fix_pathinfo=fix_pathinfo, root=ROOT))
        # A docroot of this pair's own, for files the test makes unreadable.
        self.docroot = self.dir / "docroot"
        self.docroot.mkdir()
        (self.docroot / "readable.php").write_text("<?php echo 'readable', PHP_EOL;\n")
        (self.docroot / "unreadable.php").write_text("<?php echo 'secret', PHP_EOL;\n")
        (self.docroot / "unreadable.php").chmod(0o000)
        (self.docroot / "closed").mkdir()
        (self.docroot / "closed" / "inside.php").write_text("<?php echo 'inside', PHP_EOL;\n")
        (self.docroot / "closed").chmod(0o000)
        if user:
            for path in (self.dir, self.docroot):
                path.chmod(0o755)
            for sub in ("sessions", "uploads"):
                shutil.chown(self.dir / sub, user, user)
        self.fpm = start_php_fpm(self.dir, self.ini, user=user)
        if via == "debian":
            # Debian's stock files, started as its systemd unit starts php-fpm
            # (docs/migrating.md), with the shared php.ini.
            conf, files = debian_fpm_files()
            self.tfpm = tfpm_factory(fpm_config=conf, fpm_files=files, allow_root=False,
                                     fpm_options=["--nodaemonize", "--fpm-config"], fpm_args=["-c", str(self.ini)])
            self.tfpm.sock = str(self.tfpm.dir / "www.sock")
        else:
            self.tfpm = tfpm_factory(ini_file=str(self.ini), processes=1, threads=1, run_as=user)

    def close(self):
        self.fpm.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def pairs(module_tfpm_factory):
    """pairs(kind, via): the module's Pair of that kind ("pair": PHP as root,
    "pair_unprivileged": PHP as www-data, so that unreadable scripts are
    unreadable; "pair_nofix": cgi.fix_pathinfo = 0) and tfpm configuration,
    started on first use."""
    if not os.path.exists(FPM_BIN):
        pytest.fail(f"{FPM_BIN} is missing: tools/setup installs php8.2-fpm")
    started = {}
    kinds = {"pair": (1, None), "pair_unprivileged": (1, "www-data"), "pair_nofix": (0, None)}

    def get(kind, via="yaml"):
        if (kind, via) not in started:
            fix_pathinfo, user = kinds[kind]
            started[(kind, via)] = Pair(module_tfpm_factory, fix_pathinfo, user=user, via=via)
        return started[(kind, via)]

    yield get
    for p in started.values():
        p.close()


@pytest.fixture(scope="module")
def pair(pairs):
    return pairs("pair")


# --------------------------------------------------------------- masking ---

MASKS = [
    # X-Powered-By and headers_list(): PHP/8.2.x vs PHP/8.4.x.
    (re.compile(rb"PHP\\?/8\.\d+\.\d+[^\s;\"]*"), b"PHP/<version>"),
    (re.compile(rb"PHPSESSID=[A-Za-z0-9,-]+"), b"PHPSESSID=<id>"),
    # Upload temp names: 6 random characters in 8.2, more in 8.4.
    (re.compile(rb"/php[A-Za-z0-9]{6,}\b"), b"/php<tmp>"),
    # The engine's allocation overhead differs between 8.2 and 8.4.
    (re.compile(rb"\(tried to allocate \d+ bytes\)"), b"(tried to allocate <n> bytes)"),
]


def mask(data):
    for pattern, repl in MASKS:
        data = pattern.sub(repl, data)
    return data


def outcome(resp):
    """What is compared: masked STDOUT, masked STDERR, app status."""
    return {"stdout": mask(resp.raw), "stderr": mask(resp.stderr), "app_status": resp.app_status}


# ----------------------------------------------------------------- cases ---

def S(name):
    """Absolute path of a docroot file."""
    return f"{ROOT}/{name}"


def nginx_params(script_name, path_info="", query="", split=True):
    """What nginx sends with `include fastcgi_params` and
    `fastcgi_split_path_info ^(.+?\\.php)(/.*)$` (split=True), or with the
    plain `SCRIPT_FILENAME $document_root$fastcgi_script_name` (split=False,
    the whole URI path is the script name)."""
    uri = script_name + path_info
    p = {
        "DOCUMENT_ROOT": ROOT,
        "REQUEST_URI": uri + ("?" + query if query else ""),
        "DOCUMENT_URI": uri,
        "QUERY_STRING": query,
        "SERVER_SOFTWARE": "nginx/1.22.1",
    }
    if split:
        p.update({"SCRIPT_FILENAME": ROOT + script_name, "SCRIPT_NAME": script_name,
                  "PATH_INFO": path_info})
    else:
        p.update({"SCRIPT_FILENAME": ROOT + uri, "SCRIPT_NAME": uri})
    return p


def apache_params(prefix, script_name, path_info="", query="", with_path_info=False):
    """What Apache 2.4 mod_proxy_fcgi sends for ProxyPass/ProxyPassMatch:
    SCRIPT_FILENAME "proxy:fcgi://host:port/docroot/script.php/info" (with
    "?query" appended after a RewriteRule [P]), SCRIPT_NAME the whole URI
    path, no PATH_INFO unless `ProxyFCGISetEnvIf`/proxy-fcgi-pathinfo."""
    uri = script_name + path_info
    p = {
        "DOCUMENT_ROOT": ROOT,
        "SCRIPT_FILENAME": prefix + ROOT + uri + ("?" + query if query else ""),
        "SCRIPT_NAME": uri,
        "REQUEST_URI": uri + ("?" + query if query else ""),
        "QUERY_STRING": query,
        "SERVER_SOFTWARE": "Apache/2.4.62 (Debian)",
    }
    if with_path_info:
        p["PATH_INFO"] = path_info
    return p


def _decoded_path_info(want):
    """php-fpm 8.3+ (and so tfpm, built on 8.4) URL-decodes the PATH_INFO it
    cuts from a mod_proxy_fcgi SCRIPT_FILENAME; 8.2 keeps it encoded."""
    out = []
    for line in want["stdout"].split(b"\n"):
        if line.split(b"=", 1)[0] in (b"PATH_INFO", b"PATH_TRANSLATED", b"PHP_SELF",
                                       b"getenv(PATH_INFO)"):
            line = line.replace(b"a%20b", b"a b")
        out.append(line)
    return {**want, "stdout": b"\n".join(out)}


def _untruncated_long_message(want):
    """php-fpm cuts a message to the web server at its log_limit (1024
    bytes with the prefix); tfpm sends it whole."""
    full = (b"PHP message: " + b"L" * 3000)
    assert full.startswith(want["stderr"].rstrip(b".")), want["stderr"]
    return {**want, "stderr": full}


def _seed_session(servers):
    """Both servers share the session directory: start each from n=1."""
    path = servers.dir / "sessions" / "sess_differentialtestsession0123456"
    path.write_text("n|i:1;")
    if servers.user:
        shutil.chown(path, servers.user, servers.user)


class Case:
    def __init__(self, name, script, query="", method="GET", body=b"", headers=None, params=None,
                 pair="pair", differs=None, before=None, role=None):
        self.name = name
        self.role = role  # FastCGI role (default: responder)
        self.script = script
        self.query = query
        self.method = method
        self.body = body
        self.headers = headers or {}
        self.params = params or {}
        self.pair = pair
        # (doc anchor, fn(fpm_outcome) -> expected tfpm outcome) or None
        self.differs = differs
        # fn(servers), run before each of the two requests
        self.before = before

    def send(self, address, docroot=""):
        """"{docroot}" in the script and params stands for the pair's own
        docroot."""
        params = {k: v.replace("{docroot}", str(docroot)) if isinstance(v, str) else v
                  for k, v in self.params.items()}
        return fcgi.request(address, self.script.replace("{docroot}", str(docroot)), query=self.query,
                            method=self.method, body=self.body, headers=self.headers, params=params,
                            role=self.role)


UPLOAD_BODY, UPLOAD_CT = multipart(
    {"title": "two files"},
    {"first": ("a.txt", b"first file\n" * 100, "text/plain"),
     "second": ("b.bin", bytes(range(256)) * 64, "application/octet-stream")})
URLENCODED = b"a=1&b[]=2&b[]=3&c=%C3%A9t%C3%A9&empty="
EMPTY_UPLOAD_BODY, EMPTY_UPLOAD_CT = multipart(
    {"only": "field"}, {"f": ("", b"", "application/octet-stream")})
LARGE_BODY = bytes((i * 7) & 0xFF for i in range(3 * 1024 * 1024 + 17))

CASES = [
    # --- paths: nginx (cgi.fix_pathinfo=1) --------------------------------
    Case("nginx_split_no_path_info", S("paths.php"), params=nginx_params("/paths.php")),
    Case("nginx_split_path_info", S("paths.php"), query="q=1",
         params=nginx_params("/paths.php", "/foo/bar", "q=1")),
    Case("nginx_split_path_info_with_path_translated", S("paths.php"),
         params={**nginx_params("/paths.php", "/foo"), "PATH_TRANSLATED": ROOT + "/foo"}),
    Case("nginx_no_split_path_info_in_filename", S("paths.php"),
         params=nginx_params("/paths.php", "/foo/bar", split=False)),
    Case("nginx_no_split_with_path_info_param", S("paths.php"),
         params={**nginx_params("/paths.php", "/x/y", split=False), "PATH_INFO": "/x/y"}),
    Case("nginx_subdir_path_info", S("sub/dir/deep.php"),
         params=nginx_params("/sub/dir/deep.php", "/a/b.txt")),
    Case("nginx_subdir_no_split", S("sub/dir/deep.php"),
         params=nginx_params("/sub/dir/deep.php", "/tail", split=False)),
    Case("nginx_trailing_slash_script", S("paths.php"),
         params={**nginx_params("/paths.php", "/"), "SCRIPT_FILENAME": ROOT + "/paths.php/"}),
    Case("nginx_encoded_path_info", S("paths.php"),
         params=nginx_params("/paths.php", "/a%20b/%C3%A9")),
    Case("no_document_root", S("paths.php"),
         params={**nginx_params("/paths.php", "/foo", split=False), "DOCUMENT_ROOT": None}),
    Case("script_name_mismatch", S("paths.php"),
         params={**nginx_params("/paths.php", "/info"), "SCRIPT_NAME": "/alias/paths.php"}),
    Case("duplicate_script_filename_last_wins", S("paths.php"),
         params={**nginx_params("/paths.php")}, headers={}),  # see send override below
    # CVE-2019-11043: nginx's fastcgi_split_path_info does not match a
    # newline, so PATH_INFO arrives empty while SCRIPT_FILENAME carries the
    # whole path; php-fpm < 7.3.11 underflowed a pointer here.
    Case("cve_2019_11043_path_info_underflow", S("paths.php"),
         params={**nginx_params("/paths.php", "/PHP\nis_the_shit.php", split=False),
                 "PATH_INFO": ""}),
    Case("cve_2019_11043_long_query", S("paths.php"), query="a=" + "Q" * 1500,
         params={**nginx_params("/paths.php", "/PHP%0Ais_the_shit.php", "a=" + "Q" * 1500,
                                split=False), "PATH_INFO": ""}),
    Case("dotdot_in_script_filename", S("paths.php"),
         params={**nginx_params("/paths.php"), "SCRIPT_FILENAME": ROOT + "/sub/../paths.php"}),
    # --- paths: Apache mod_proxy_fcgi -------------------------------------
    Case("apache_proxy_fcgi", S("paths.php"),
         params=apache_params("proxy:fcgi://127.0.0.1:9000", "/paths.php")),
    Case("apache_proxy_fcgi_path_info", S("paths.php"), query="x=1",
         params=apache_params("proxy:fcgi://127.0.0.1:9000", "/paths.php", "/foo/bar", "x=1")),
    Case("apache_proxy_fcgi_encoded_path_info", S("paths.php"),
         params={**apache_params("proxy:fcgi://localhost", "/paths.php", "/a%20b"),
                 "SCRIPT_NAME": "/paths.php/a b"},
         differs=("proxy-fcgi-decoded-path-info", _decoded_path_info)),
    Case("apache_proxy_fcgi_pathinfo_env", S("paths.php"),
         params=apache_params("proxy:fcgi://localhost", "/paths.php", "/pi", with_path_info=True)),
    Case("apache_proxy_balancer", S("sub/dir/deep.php"), query="y=2",
         params=apache_params("proxy:balancer://cluster", "/sub/dir/deep.php", "/z", "y=2")),
    Case("apache_proxy_fcgi_uppercase_prefix", S("paths.php"),
         params=apache_params("PROXY:FCGI://localhost", "/paths.php")),
    Case("apache_sethandler_unix", S("paths.php"),
         params={**nginx_params("/paths.php", "/h"), "SERVER_SOFTWARE": "Apache/2.4.62 (Debian)"}),
    # --- paths: cgi.fix_pathinfo=0 -----------------------------------------
    Case("nofix_split_path_info", S("paths.php"), params=nginx_params("/paths.php", "/foo/bar"),
         pair="pair_nofix"),
    Case("nofix_no_split", S("paths.php"),
         params=nginx_params("/paths.php", "/foo/bar", split=False), pair="pair_nofix"),
    Case("nofix_path_translated", S("paths.php"),
         params={**nginx_params("/paths.php", "/foo"), "PATH_TRANSLATED": ROOT + "/foo"},
         pair="pair_nofix"),
    Case("nofix_apache_proxy_fcgi", S("paths.php"), query="x=1",
         params=apache_params("proxy:fcgi://localhost", "/paths.php", "/foo", "x=1"),
         pair="pair_nofix"),
    Case("nofix_plain", S("paths.php"), params=nginx_params("/paths.php"), pair="pair_nofix"),
    # --- answers for scripts that cannot run --------------------------------
    Case("missing_script_filename", S("hello.php"), params={"SCRIPT_FILENAME": None}),
    Case("empty_script_filename", S("hello.php"), params={"SCRIPT_FILENAME": ""}),
    Case("missing_file", S("nope.php"), params=nginx_params("/nope.php")),
    Case("missing_file_nofix", S("nope.php"), params=nginx_params("/nope.php"), pair="pair_nofix"),
    Case("missing_file_in_existing_dir_with_path", S("sub/nope.php"),
         params=nginx_params("/sub/nope.php", "/x", split=False)),
    Case("limit_extensions_txt", S("notphp.txt"), params=nginx_params("/notphp.txt")),
    Case("limit_extensions_phtml", S("script.phtml"), params=nginx_params("/script.phtml")),
    Case("directory_as_script", S("sub"), params=nginx_params("/sub")),
    Case("directory_as_script_nofix", S("sub.php"),
         params={**nginx_params("/sub.php"), "SCRIPT_FILENAME": ROOT + "/sub/dir"},
         pair="pair_nofix"),
    # As www-data: a file without read permission, a directory without x.
    Case("unreadable_script", "{docroot}/unreadable.php", pair="pair_unprivileged",
         params={"DOCUMENT_ROOT": "{docroot}", "SCRIPT_NAME": "/unreadable.php"}),
    Case("unreadable_script_with_path_info", "{docroot}/unreadable.php/x", pair="pair_unprivileged",
         params={"DOCUMENT_ROOT": "{docroot}", "SCRIPT_NAME": "/unreadable.php/x"}),
    Case("script_in_closed_directory", "{docroot}/closed/inside.php", pair="pair_unprivileged",
         params={"DOCUMENT_ROOT": "{docroot}", "SCRIPT_NAME": "/closed/inside.php"}),
    Case("readable_script_as_www_data", "{docroot}/readable.php", pair="pair_unprivileged",
         params={"DOCUMENT_ROOT": "{docroot}", "SCRIPT_NAME": "/readable.php"}),
    Case("no_request_method", S("hello.php"), params={"REQUEST_METHOD": None}),
    # --- request basics -----------------------------------------------------
    Case("hello", S("hello.php")),
    Case("head", S("head.php"), method="HEAD"),
    Case("head_redirect", S("redirect.php"), query="mode=plain", method="HEAD"),
    Case("request_time", S("time.php")),
    Case("https_on", S("server.php"), query="k=HTTPS,SERVER_PORT,REQUEST_SCHEME",
         params={"HTTPS": "on", "SERVER_PORT": "443", "REQUEST_SCHEME": "https"}),
    Case("https_absent", S("server.php"), query="k=HTTPS"),
    Case("auth_basic", S("server.php"), query="k=PHP_AUTH_USER,PHP_AUTH_PW,AUTH_TYPE,REMOTE_USER",
         headers={"Authorization": "Basic dXNlcjpwYXNzOndvcmQ="}),
    Case("auth_digest", S("server.php"), query="k=PHP_AUTH_DIGEST,PHP_AUTH_USER,AUTH_TYPE",
         headers={"Authorization": 'Digest username="u", realm="r", nonce="n", uri="/"'}),
    Case("auth_bearer", S("server.php"), query="k=PHP_AUTH_USER,AUTH_TYPE,HTTP_AUTHORIZATION",
         headers={"Authorization": "Bearer abc.def"}),
    Case("auth_remote_user_param", S("server.php"), query="k=PHP_AUTH_USER,REMOTE_USER,AUTH_TYPE",
         params={"REMOTE_USER": "alice", "AUTH_TYPE": "Basic"}),
    Case("httpoxy_proxy_header", S("server.php"), query="k=HTTP_PROXY,HTTP_X_OTHER",
         headers={"Proxy": "http://evil.example:8080", "X-Other": "1"}),
    Case("sapi_name", S("sapi.php")),
    Case("query_arrays", S("query.php"), query="a[]=1&a[]=2&b[x]=y&c=%20d&e",
         params={"REQUEST_URI": "/query.php?a[]=1&a[]=2&b[x]=y&c=%20d&e"}),
    Case("custom_params_visible", S("server.php"), query="k=MY_PARAM,SERVER_SOFTWARE",
         params={"MY_PARAM": "from the web server"}),
    Case("server_dump", S("server_dump.php"), query="x=1",
         headers={"Host": "example.org", "User-Agent": "diff/1.0", "Accept": "*/*"}),
    Case("server_dump_path_info", S("server_dump.php"),
         params=nginx_params("/server_dump.php", "/p/i", split=False)),
    Case("server_dump_apache", S("server_dump.php"), query="q=2",
         params=apache_params("proxy:fcgi://localhost:9000", "/server_dump.php", "/a/b", "q=2")),
    Case("server_dump_duplicate_params", S("server_dump.php"),
         params={"HTTP_X_A": "1", "CUSTOM": "v"}),
    Case("getallheaders", S("getallheaders.php"), method="POST", body=b"{}",
         headers={"Host": "example.org", "X-Custom-Thing": "a", "Content-Type": "application/json",
                  "Accept-Encoding": "gzip", "X_Under_Score": "u", "Cookie": "c=1"}),
    Case("filter_input_server", S("filter.php"), query="q=42",
         params=nginx_params("/filter.php", "/p/i", "q=42", split=False),
         headers={"Host": "example.org", "X-Tag": "<b>x</b>", "Cookie": "c=v"}),
    Case("filter_default_special_chars", S("filter.php"), query="q=42",
         headers={"X-Tag": "<b>x</b>"},
         params={"PHP_ADMIN_VALUE": "filter.default=special_chars"}),
    Case("env_superglobal_egpcs", S("env_dump.php"), headers={"X-E": "e"},
         params={"PHP_VALUE": "variables_order=EGPCS"}),
    Case("no_query_string_param", S("query.php"), params={"QUERY_STRING": None, "REQUEST_URI": None}),
    Case("relative_script_filename", S("hello.php"), params={"SCRIPT_FILENAME": "hello.php"}),
    Case("path_translated_only", S("paths.php"),
         params={"SCRIPT_FILENAME": None, "PATH_TRANSLATED": S("paths.php")}),
    Case("redirect_url_mod_fastcgi", S("paths.php"),
         params={"SCRIPT_FILENAME": "/usr/lib/cgi-bin/php", "PATH_TRANSLATED": S("paths.php"),
                 "REDIRECT_URL": "/paths.php", "SCRIPT_NAME": "/cgi-bin/php", "PATH_INFO": "/paths.php"}),
    Case("iis_path_info", S("paths.php"),
         params={"SERVER_SOFTWARE": "Microsoft-IIS/10.0", "SCRIPT_NAME": "/paths.php",
                 "PATH_INFO": "/paths.php/extra", "SCRIPT_FILENAME": S("paths.php")}),
    # --- bodies -------------------------------------------------------------
    Case("post_urlencoded", S("post.php"), method="POST", body=URLENCODED,
         headers={"Content-Type": "application/x-www-form-urlencoded"}),
    Case("post_json", S("post.php"), method="POST", body=b'{"k": [1, 2]}',
         headers={"Content-Type": "application/json"}),
    Case("post_large_body", S("post.php"), method="PUT", body=LARGE_BODY,
         headers={"Content-Type": "application/octet-stream"}),
    Case("post_without_content_type", S("post.php"), method="POST", body=b"raw body"),
    Case("post_too_large", S("post.php"), method="POST", body=b"x=" + b"y" * (9 * 1024 * 1024),
         headers={"Content-Type": "application/x-www-form-urlencoded"}),
    Case("upload_two_files", S("upload.php"), method="POST", body=UPLOAD_BODY,
         headers={"Content-Type": UPLOAD_CT}),
    Case("upload_no_file", S("upload.php"), method="POST", body=EMPTY_UPLOAD_BODY,
         headers={"Content-Type": EMPTY_UPLOAD_CT}),
    # --- cookies, sessions, redirects, headers -------------------------------
    Case("cookies", S("cookies.php"), headers={"Cookie": "a=1; b=two%20words; a=dup; c"}),
    Case("session_new", S("session.php")),
    Case("session_existing", S("session.php"),
         headers={"Cookie": "PHPSESSID=differentialtestsession0123456"}, before=_seed_session),
    Case("redirect_plain", S("redirect.php"), query="mode=plain"),
    Case("redirect_301", S("redirect.php"), query="mode=301"),
    Case("redirect_code_307", S("redirect.php"), query="mode=code"),
    Case("redirect_201_created", S("redirect.php"), query="mode=created"),
    # php-fpm never reads SERVER_PROTOCOL: a POST redirect stays 302 (PHP
    # would make it 303 for HTTP/1.1).
    Case("redirect_after_post", S("redirect.php"), query="mode=plain", method="POST",
         body=b"a=1", headers={"Content-Type": "application/x-www-form-urlencoded"}),
    Case("headers_replace", S("headers.php"), query="mode=replace"),
    Case("headers_status_header", S("headers.php"), query="mode=status_header"),
    Case("headers_response_code", S("headers.php"), query="mode=code"),
    Case("headers_status_line", S("headers.php"), query="mode=line"),
    Case("headers_unknown_code", S("headers.php"), query="mode=unknown"),
    Case("headers_304_drops_content_type", S("headers.php"), query="mode=notmodified"),
    Case("headers_remove", S("headers.php"), query="mode=remove"),
    Case("headers_after_flush", S("headers.php"), query="mode=after_output"),
    Case("headers_list", S("headers.php"), query="mode=list"),
    Case("headers_default_charset", S("headers.php"), query="mode=default_charset"),
    Case("headers_empty_content_type", S("headers.php"), query="mode=empty_ct"),
    Case("headers_status_line_200", S("headers.php"), query="mode=line_200"),
    Case("headers_status_500_no_reason", S("headers.php"), query="mode=status_500"),
    Case("headers_injection_refused", S("headers.php"), query="mode=injection"),
    Case("headers_without_colon", S("headers.php"), query="mode=no_colon"),
    Case("headers_content_length", S("headers.php"), query="mode=content_length"),
    Case("headers_code_then_status_line", S("headers.php"), query="mode=code_then_line"),
    Case("headers_location_then_200", S("headers.php"), query="mode=location_then_code"),
    Case("headers_many", S("headers.php"), query="mode=many"),
    Case("head_with_error", S("errors.php"), query="mode=exception", method="HEAD"),
    Case("large_output", S("large.php"), query="n=3000000"),
    # --- errors -------------------------------------------------------------
    Case("error_warning_displayed", S("errors.php"), query="mode=warning"),
    Case("error_warning_hidden", S("errors.php"), query="mode=warning&display=0"),
    Case("error_two_warnings_hidden", S("errors.php"), query="mode=two_warnings&display=0"),
    Case("error_user_notice", S("errors.php"), query="mode=user_notice"),
    Case("error_user_warning", S("errors.php"), query="mode=user_warning&display=0"),
    Case("error_uncaught_exception", S("errors.php"), query="mode=exception"),
    Case("error_fatal_hidden", S("errors.php"), query="mode=fatal&display=0"),
    Case("error_log_function", S("errors.php"), query="mode=error_log"),
    Case("error_memory_limit", S("errors.php"), query="mode=memory&display=0"),
    Case("error_parse_in_include", S("errors.php"), query="mode=parse"),
    Case("error_long_message", S("errors.php"), query="mode=long",
         differs=("stderr-log-limit", _untruncated_long_message)),
    Case("error_header_on_fatal", S("errors.php"), query="mode=fatal&display=0",
         params={"PHP_ADMIN_VALUE": 'fastcgi.error_header="HTTP/1.1 503 Service Unavailable"'}),
    Case("error_headers_already_sent", S("output_start.php"),
         params={"PHP_VALUE": "output_buffering=0"}),
    # --- output buffering, exit, shutdown -------------------------------------
    Case("ob_callback", S("ob.php"), query="mode=callback"),
    Case("ob_nested", S("ob.php"), query="mode=nested"),
    Case("ob_header_after_echo", S("ob.php"), query="mode=header_after_echo"),
    Case("ob_no_buffer_header_after_echo", S("ob.php"), query="mode=no_buffer"),
    Case("ob_flush", S("ob.php"), query="mode=flush"),
    Case("ob_status", S("ob.php"), query="mode=status"),
    Case("exit_plain", S("exit.php"), query="mode=plain"),
    Case("exit_code", S("exit.php"), query="mode=code"),
    Case("exit_string", S("exit.php"), query="mode=string"),
    Case("exit_in_ob", S("exit.php"), query="mode=in_ob"),
    Case("exit_after_flush", S("exit.php"), query="mode=after_flush"),
    Case("shutdown_functions", S("shutdown.php")),
    Case("shutdown_after_exit", S("shutdown.php"), query="mode=exit"),
    Case("shutdown_after_fatal", S("shutdown.php"), query="mode=fatal"),
    Case("shutdown_after_finish_request", S("shutdown.php"), query="mode=finish"),
    Case("fastcgi_finish_request", S("finish.php")),
    # --- .user.ini ------------------------------------------------------------
    Case("user_ini", S("userini/show.php"), params=nginx_params("/userini/show.php")),
    Case("user_ini_deeper_overrides", S("userini/deeper/show.php"),
         params=nginx_params("/userini/deeper/show.php")),
    Case("user_ini_script_outside_document_root", S("userini/deeper/show.php"),
         params={**nginx_params("/userini/deeper/show.php"), "DOCUMENT_ROOT": ROOT + "/sub"}),
    Case("user_ini_document_root_trailing_slash", S("userini/deeper/show.php"),
         params={**nginx_params("/userini/deeper/show.php"), "DOCUMENT_ROOT": ROOT + "/"}),
    Case("user_ini_no_document_root", S("userini/show.php"),
         params={**nginx_params("/userini/show.php"), "DOCUMENT_ROOT": None}),
    Case("user_ini_path_info", S("userini/show.php"),
         params=nginx_params("/userini/show.php", "/x/y", split=False)),
    Case("user_ini_and_php_value", S("userini/show.php"),
         params={**nginx_params("/userini/show.php"), "PHP_VALUE": "precision=4"}),
    # --- php.ini [PATH=] and [HOST=] sections ---------------------------------
    Case("ini_path_section", S("sub/dir/ini.php"), query="k=precision",
         params=nginx_params("/sub/dir/ini.php", query="k=precision")),
    Case("ini_path_section_not_above", S("ini.php"), query="k=precision"),
    Case("ini_host_section", S("ini.php"), query="k=precision,serialize_precision",
         params={"SERVER_NAME": "Example.ORG"}),
    Case("ini_host_and_path_sections", S("sub/dir/ini.php"), query="k=precision,serialize_precision",
         params={**nginx_params("/sub/dir/ini.php", query="k=precision,serialize_precision"),
                 "SERVER_NAME": "example.org"}),
    # --- INI through FastCGI params -------------------------------------------
    Case("php_value", S("ini.php"), query="k=precision,serialize_precision",
         params={"PHP_VALUE": "precision=5\nserialize_precision=7"}),
    Case("php_admin_value_blocks_ini_set", S("ini.php"), query="k=precision&set=precision:3",
         params={"PHP_ADMIN_VALUE": "precision=6"}),
    Case("php_value_ini_set_allowed", S("ini.php"), query="k=precision&set=precision:3",
         params={"PHP_VALUE": "precision=6"}),
    Case("php_value_unknown_key", S("ini.php"), query="k=precision",
         params={"PHP_VALUE": "no_such_ini_entry=1\nprecision=8"}),
    Case("php_value_section", S("ini.php"), query="k=precision",
         params={"PHP_VALUE": "[section]\nprecision=8"}),
    Case("php_value_empty_value", S("ini.php"), query="k=error_log,precision",
         params={"PHP_VALUE": "error_log=\nprecision="}),
    Case("php_value_syntax_error", S("ini.php"), query="k=precision",
         params={"PHP_VALUE": "precision=8\n=broken"}),
    Case("php_value_invalid_quantity", S("ini.php"), query="k=memory_limit",
         params={"PHP_VALUE": "memory_limit=lots"}),
    Case("php_value_output_buffering", S("ini.php"), query="k=output_buffering",
         params={"PHP_VALUE": "output_buffering=0"}),
]

# FastCGI roles: php-fpm runs the script for all three and tells it the
# role in $_SERVER['FCGI_ROLE'].
CASES += [
    Case("role_authorizer", S("server.php"), query="k=FCGI_ROLE,REQUEST_METHOD", role=fcgi.AUTHORIZER),
    Case("role_filter", S("post.php"), method="POST", body=b"a=1&b=2",
         headers={"Content-Type": "application/x-www-form-urlencoded"}, role=fcgi.FILTER),
    Case("role_filter_named", S("server.php"), query="k=FCGI_ROLE", role=fcgi.FILTER),
    Case("role_responder_named", S("server.php"), query="k=FCGI_ROLE"),
]

# Two SCRIPT_FILENAME params in one request (nginx sends both when a
# location repeats a param from fastcgi.conf): php-fpm keeps the last.
_dup = next(c for c in CASES if c.name == "duplicate_script_filename_last_wins")


def _send_duplicate(address, docroot="", case=_dup):
    p = {"GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_METHOD": "GET",
         "QUERY_STRING": "", "CONTENT_LENGTH": "0", **nginx_params("/paths.php")}
    items = list(p.items()) + [("SCRIPT_FILENAME", S("sub/dir/deep.php"))]
    s = fcgi.connect(address)
    try:
        data = fcgi.record(fcgi.BEGIN_REQUEST, 1, b"\0\1\0\0\0\0\0\0")
        data += fcgi.stream(fcgi.PARAMS, 1, b"".join(fcgi.encode_pair(k, v) for k, v in items))
        data += fcgi.stream(fcgi.STDIN, 1, b"")
        s.sendall(data)
        return fcgi.read_response(s)
    finally:
        s.close()


_dup.send = _send_duplicate

assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_same_as_php_fpm(case, via, pairs):
    servers = pairs(case.pair, via)
    if case.before:
        case.before(servers)
    want = outcome(case.send(servers.fpm.sock, servers.docroot))
    if case.before:
        case.before(servers)
    got = outcome(case.send(servers.tfpm.sock, servers.docroot))
    if case.differs is None:
        assert got == want, _explain(want, got)
    else:
        anchor, transform = case.differs
        assert f"<a id=\"{anchor}\"></a>" in DIFFERENCES_DOC.read_text(), \
            f"difference {anchor} is not documented in {DIFFERENCES_DOC}"
        assert got != want, f"documented difference {anchor} is gone: outputs are equal now"
        expected = transform(dict(want))
        assert got == expected, _explain(expected, got)


def _explain(want, got):
    lines = []
    for k in ("app_status", "stderr", "stdout"):
        if want[k] != got[k]:
            w, g = want[k], got[k]
            if isinstance(w, bytes) and len(w) + len(g) > 4000:
                i = next((i for i in range(min(len(w), len(g))) if w[i] != g[i]), min(len(w), len(g)))
                w, g = f"len {len(w)} ... {w[max(0, i - 200):i + 200]!r}", \
                    f"len {len(g)} ... {g[max(0, i - 200):i + 200]!r}"
            lines.append(f"{k}:\n  php-fpm: {w!r}\n  tfpm:    {g!r}")
    return "\n".join(lines)


def test_case_count():
    """The issue asks for at least 60 differential requests."""
    assert len(CASES) >= 60


# ------------------------------------------- PHP_VALUE lifetime and admin ---

def _ini(address, query, params=None):
    r = fcgi.request(address, S("ini.php"), query=query, params=params or {})
    assert r.status == 200, r
    return r


def test_php_value_sticks_in_php_fpm_only(pair):
    """docs/fpm-differences.md#php-value-per-request: php-fpm keeps a
    request's PHP_VALUE / PHP_ADMIN_VALUE for every later request of that
    child; tfpm (one thread, so the same interpreter serves both) reverts
    them when the request ends."""
    with_values = {"PHP_VALUE": "precision=5", "PHP_ADMIN_VALUE": "serialize_precision=9"}
    for address in (pair.fpm.sticky_sock, pair.tfpm.sock):
        r = _ini(address, "k=precision,serialize_precision", with_values)
        assert r.body == b"precision='5'\nserialize_precision='9'\n", (address, r.body)
    fpm_after = _ini(pair.fpm.sticky_sock, "k=precision,serialize_precision&set=serialize_precision:3")
    tfpm_after = _ini(pair.tfpm.sock, "k=precision,serialize_precision&set=serialize_precision:3")
    # php-fpm: the values stayed, and the admin one is still locked.
    assert fpm_after.body == (b"ini_set(serialize_precision)=false\n"
                              b"precision='5'\nserialize_precision='9'\n")
    # tfpm: php.ini's values again, and ini_set() works again.
    assert tfpm_after.body == (b"ini_set(serialize_precision)='-1'\n"
                               b"precision='14'\nserialize_precision='3'\n")


@pytest.mark.sanitize
def test_fastcgi_ini_params_against_pool_admin_values(tfpm_factory):
    """docs/fpm-differences.md#php-value-admin, on one thread: PHP_VALUE
    cannot override the pool's php_admin_value, nor load an extension;
    PHP_ADMIN_VALUE locks its key against ini_set() for that request only."""
    t = tfpm_factory(processes=1, threads=1, php_admin_value={"precision": "9"},
                     php_value={"serialize_precision": "10"})
    # The pool's admin value holds against PHP_VALUE (refused, and said so).
    r = _ini(t.sock, "k=precision", {"PHP_VALUE": "precision=3"})
    assert r.body == b"precision='9'\n"
    assert r.stderr == b"Passing INI directive through FastCGI: unable to set 'precision'"
    for key in ("extension=zip.so", "disable_functions=strlen", "zend_extension=opcache.so"):
        r = _ini(t.sock, "k=disable_functions", {"PHP_VALUE": key})
        name = key.split("=")[0]
        assert r.stderr == f"Passing INI directive through FastCGI: unable to set '{name}'".encode()
        assert r.body == b"disable_functions=''\n"
    # ...and against ini_set(), as always.
    r = _ini(t.sock, "k=precision&set=precision:4")
    assert r.body == b"ini_set(precision)=false\nprecision='9'\n"
    # A pool php_value may be overridden by PHP_VALUE, for that request only.
    r = _ini(t.sock, "k=serialize_precision", {"PHP_VALUE": "serialize_precision=11"})
    assert r.body == b"serialize_precision='11'\n" and r.stderr == b""
    # PHP_ADMIN_VALUE locks a user-changeable key for this request...
    r = _ini(t.sock, "k=serialize_precision&set=serialize_precision:5",
             {"PHP_ADMIN_VALUE": "serialize_precision=12"})
    assert r.body == b"ini_set(serialize_precision)=false\nserialize_precision='12'\n"
    # ...and the next request on the same thread is back to the pool's value,
    # changeable again.
    r = _ini(t.sock, "k=serialize_precision&set=serialize_precision:5")
    assert r.body == b"ini_set(serialize_precision)='10'\nserialize_precision='5'\n"
    # Several values, constants and expressions, as php-fpm parses them.
    r = _ini(t.sock, "k=error_reporting,display_errors,memory_limit",
             {"PHP_VALUE": "error_reporting=E_ALL & ~E_NOTICE\ndisplay_errors=Off\nmemory_limit=77M"})
    # E_ALL is 30719 in PHP 8.4 (E_STRICT is gone); E_NOTICE is 8.
    assert r.body == (f"error_reporting='{30719 & ~8}'\ndisplay_errors=''\n"
                      "memory_limit='77M'\n").encode()


def _realpath_probe(address, target):
    """A request for `target` (a .txt file: security.limit_extensions refuses
    it before anything opens it, so only the script check resolves its
    path), then what the same interpreter's realpath cache holds for it."""
    r = fcgi.request(address, str(target))
    assert r.status == 403 and r.body == b"Access denied.\n", r
    r = fcgi.request(address, S("realpath_cache.php"), query=f"p={target}&left=1")
    assert r.status == 200, r
    return r.body


def test_script_check_goes_through_realpath_cache(pair):
    """php-fpm checks that SCRIPT_FILENAME exists with tsrm_realpath(), which
    goes through PHP's realpath cache and fills it (a repeated request costs
    no readlink); tfpm's check does the same on its PHP thread. The next
    request in the same interpreter (php-fpm's sticky pool: one long-lived
    child; tfpm: one thread) finds the refused script's path in
    realpath_cache_get(). Each server gets a file no request named before."""
    got = {}
    for name, address in (("fpm", pair.fpm.sticky_sock), ("tfpm", pair.tfpm.sock)):
        target = pair.docroot / f"realpath-probe-{name}.txt"
        target.write_text("not php\n")
        got[name] = _realpath_probe(address, target)
    fpm_lines = got["fpm"].replace(b"probe-fpm", b"probe-tfpm").splitlines()
    tfpm_lines = got["tfpm"].splitlines()
    assert fpm_lines[0] == (f"cached realpath={pair.docroot}/realpath-probe-tfpm.txt is_dir=false "
                            f"within_ttl=true").encode(), got
    assert tfpm_lines[0] == fpm_lines[0], got


def test_script_check_follows_realpath_cache_ini(tfpm_factory):
    """The script check uses PHP's realpath cache with php.ini's settings:
    realpath_cache_ttl sets how long the entry lives, realpath_cache_size = 0
    turns the cache off (the check still works, uncached)."""
    t = tfpm_factory(processes=1, threads=1, ini={"realpath_cache_ttl": "3600"})
    target = t.dir / "probe.txt"
    target.write_text("not php\n")
    body = _realpath_probe(t.sock, target).decode()
    assert body.startswith(f"cached realpath={target} is_dir=false within_ttl=true\n"), body
    left = int(body.split("left=")[1])
    assert 3500 < left <= 3600, body
    t = tfpm_factory(processes=1, threads=1, ini={"realpath_cache_size": "0"})
    target = t.dir / "probe.txt"
    target.write_text("not php\n")
    assert _realpath_probe(t.sock, target) == b"not cached\n"
    # Uncached, the script check still finds a script that exists.
    r = fcgi.request(t.sock, S("hello.php"))
    assert r.status == 200 and r.body == b"hello\n", r


def test_unknown_role_gets_the_specs_answer(pair):
    """A role php-fpm does not know makes its fcgi_read_request() give up:
    no response, the connection closed. tfpm answers as the FastCGI spec
    says, END_REQUEST with FCGI_UNKNOWN_ROLE (documented difference)."""
    assert '<a id="unknown-role"></a>' in DIFFERENCES_DOC.read_text()
    with pytest.raises(ConnectionError):
        fcgi.request(pair.fpm.sock, S("hello.php"), role=9, timeout=10)
    r = fcgi.request(pair.tfpm.sock, S("hello.php"), role=9, timeout=10)
    assert (r.protocol_status, r.raw, r.stderr) == (3, b"", b"")  # FCGI_UNKNOWN_ROLE
    # On a kept connection the next request is served.
    s = fcgi.connect(pair.tfpm.sock)
    try:
        r = fcgi.request(pair.tfpm.sock, S("hello.php"), role=9, keep_conn=True, sock=s)
        assert r.protocol_status == 3
        assert outcome(fcgi.request(pair.tfpm.sock, S("hello.php"), sock=s)) == \
            outcome(fcgi.request(pair.fpm.sock, S("hello.php")))
    finally:
        s.close()


def test_debian_variant_runs_debians_stock_configuration(pairs):
    """via=debian really is Debian's stock www pool under tfpm: its socket
    owner and mode, PHP as www-data, pm = dynamic, from --fpm-config with no
    line changed but the moved paths (helpers.debian_fpm_files)."""
    servers = pairs("pair", "debian")
    t = servers.tfpm
    assert t.command[1:3] == ["--nodaemonize", "--fpm-config"] and "-R" not in t.command, t.command
    conf, files = debian_fpm_files()
    assert (t.dir / "pool.d" / "www.conf").read_text() == files["pool.d/www.conf"].replace("{dir}", str(t.dir))
    info = os.stat(t.sock)
    assert stat.S_IMODE(info.st_mode) == 0o660 and pwd.getpwuid(info.st_uid).pw_name == "www-data"
    www_data = pwd.getpwnam("www-data").pw_uid
    for pid in t.worker_pids():
        uids = [line.split()[1:] for line in open(f"/proc/{pid}/status") if line.startswith("Uid:")][0]
        assert uids == [str(www_data)] * 4, uids
    pool = t.status()["pools"][0]
    assert (pool["name"], pool["pm"]) == ("www", "dynamic")
