"""HTTP through a real Apache 2.4 (mod_proxy_fcgi, conf/apache/tfpm.conf) in
front of tfpm, as with nginx in test_http.py."""
import base64
import hashlib
import os
import shutil

import pytest

from helpers import PHP_DIR, Apache, http_get, http_request, multipart


@pytest.fixture(scope="module")
def server(module_tfpm_factory):
    if shutil.which("apache2") is None:
        pytest.fail("apache2 is missing: tools/setup installs it")
    # Apache's children run as www-data: they must reach the socket.
    tfpm = module_tfpm_factory(processes=1, threads=4, listen_mode="0666",
                               ini={"post_max_size": "16M", "upload_max_filesize": "16M"})
    os.chmod(tfpm.dir, 0o711)
    apache = Apache(tfpm.sock, str(PHP_DIR))
    yield tfpm, apache.url, apache
    apache.stop()
    if not any(line for line in apache.error_log().splitlines() if "[proxy" in line and "error" in line):
        apache.cleanup_dir()


def lines(r):
    return dict(line.split("=", 1) for line in r.text.splitlines() if "=" in line)


def test_get_query_and_script_paths(server):
    _, url, _ = server
    r = http_get(url, "/echo/index.php?a=1&b%5B%5D=x")
    assert r.status == 200, (r, server[2].error_log())
    data = r.json()
    assert data["get"] == {"a": "1", "b": ["x"]}
    assert data["query_string"] == "a=1&b%5B%5D=x"
    assert data["request_uri"] == "/echo/index.php?a=1&b%5B%5D=x"
    assert data["script_name"] == "/echo/index.php"
    # mod_proxy_fcgi sends "proxy:fcgi://localhost/..."; PHP sees the file.
    assert data["script_filename"] == str(PHP_DIR / "echo" / "index.php")
    assert data["sapi"] == "fpm-fcgi"


def test_path_info(server):
    _, url, _ = server
    r = http_get(url, "/echo/index.php/extra/path?x=1")
    assert r.status == 200, r
    data = r.json()
    assert data["script_name"] == "/echo/index.php"
    assert data["path_info"] == "/extra/path"
    assert data["php_self"] == "/echo/index.php/extra/path"
    assert data["script_filename"] == str(PHP_DIR / "echo" / "index.php")


def test_missing_script_is_404_from_apache(server):
    _, url, _ = server
    assert http_get(url, "/no/such/script.php").status == 404


def test_post_urlencoded_and_large_body(server):
    _, url, _ = server
    r = http_request(url, "/differential/post.php", "POST", body=b"a=1&b[]=2&b[]=3",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200, r
    assert lines(r)["POST"] == '{"a":"1","b":["2","3"]}'
    body = os.urandom(5 * 1024 * 1024)
    r = http_request(url, "/differential/post.php", "PUT", body=body,
                     headers={"Content-Type": "application/octet-stream"})
    assert r.status == 200, r
    assert lines(r)["input length"] == f"{len(body)} md5={hashlib.md5(body).hexdigest()}"


def test_upload(server):
    _, url, _ = server
    content = os.urandom(300_000)
    body, ctype = multipart({"title": "t"}, {"f": ("pic.jpg", content, "image/jpeg")})
    r = http_request(url, "/differential/upload.php", "POST", body=body,
                     headers={"Content-Type": ctype})
    assert r.status == 200, r
    line = next(x for x in r.text.splitlines() if x.startswith("f: "))
    assert f"size={len(content)} error=0 uploaded=true md5={hashlib.md5(content).hexdigest()}" in line


def test_basic_auth_reaches_php(server):
    _, url, _ = server
    auth = base64.b64encode(b"alice:s3cret").decode()
    r = http_get(url, "/differential/server.php?k=PHP_AUTH_USER,PHP_AUTH_PW,AUTH_TYPE",
                 headers={"Authorization": "Basic " + auth})
    assert r.status == 200, r
    got = lines(r)
    assert got["PHP_AUTH_USER"].startswith("'alice'")
    assert got["PHP_AUTH_PW"].startswith("'s3cret'")
    # Only a server that authenticated the user itself sets AUTH_TYPE (PHP
    # does not derive it from the header, under php-fpm neither).
    assert got["AUTH_TYPE"] == "(unset) getenv=false"


def test_httpoxy_proxy_header_is_not_http_proxy(server):
    _, url, _ = server
    r = http_get(url, "/differential/server.php?k=HTTP_PROXY", headers={"Proxy": "http://evil:1"})
    assert r.status == 200, r
    assert lines(r)["HTTP_PROXY"] == "(unset) getenv=false"


def test_session_cookie_and_redirect(server):
    _, url, _ = server
    r = http_get(url, "/differential/session.php")
    assert r.status == 200, r
    cookie = r.headers["set-cookie"].split(";")[0]
    assert cookie.startswith("PHPSESSID=")
    r = http_get(url, "/differential/session.php", headers={"Cookie": cookie})
    assert lines(r)["n"] == "2"
    r = http_get(url, "/differential/redirect.php?mode=plain")
    assert r.status == 302
    assert r.headers["location"] == "/target?x=1"


def test_status_headers_and_large_output(server):
    _, url, _ = server
    r = http_get(url, "/differential/headers.php?mode=code")
    assert r.status == 404 and r.body == b"body\n"
    r = http_get(url, "/differential/large.php?n=3000000")
    assert r.status == 200 and len(r.body) == 3000000
    assert r.body[:32] == b"0123456789abcdef" * 2


def test_user_ini_from_document_root(server):
    _, url, _ = server
    r = http_get(url, "/differential/userini/deeper/show.php")
    assert r.status == 200, r
    got = lines(r)
    assert got["precision"] == "'9'" and got["serialize_precision"] == "'5'"
