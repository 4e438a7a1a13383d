"""HTTP through a real nginx in front of tfpm (conf/nginx/tfpm.conf)."""
import concurrent.futures
import hashlib
import os
import threading
import urllib.parse
import uuid

import pytest

from helpers import (PHP_DIR, SLOW, http_get, http_request, multipart, sha256, wait_until)


@pytest.fixture(scope="module")
def server(module_tfpm_factory, module_nginx_factory):
    """One tfpm (2 processes x 4 threads) behind one nginx serving tests/php."""
    tfpm = module_tfpm_factory(processes=2, threads=4,
                               ini={"post_max_size": "64M", "upload_max_filesize": "64M",
                                    "memory_limit": "256M"})
    url = module_nginx_factory(tfpm, PHP_DIR)
    return tfpm, url


def test_get_with_query(server):
    _, url = server
    q = "a=1&b%5B%5D=x&b%5B%5D=y&c=%C3%A9t%C3%A9&empty="
    r = http_get(url, "/echo/index.php?" + q)
    assert r.status == 200, r
    assert r.headers["content-type"] == "application/json"
    data = r.json()
    assert data["get"] == {"a": "1", "b": ["x", "y"], "c": "été", "empty": ""}
    assert data["method"] == "GET"
    assert data["query_string"] == q
    assert data["request_uri"] == "/echo/index.php?" + q
    assert data["script_name"] == "/echo/index.php"
    assert data["script_filename"] == str(PHP_DIR / "echo" / "index.php")
    assert data["sapi"] == "fpm-fcgi"


def test_path_info(server):
    _, url = server
    r = http_get(url, "/echo/index.php/extra/path?x=1")
    assert r.status == 200, r
    data = r.json()
    assert data["script_name"] == "/echo/index.php"
    assert data["path_info"] == "/extra/path"
    assert data["php_self"] == "/echo/index.php/extra/path"
    assert data["get"] == {"x": "1"}


def test_missing_script_is_404_from_nginx(server):
    _, url = server
    r = http_get(url, "/no/such/script.php")
    assert r.status == 404


def test_post_urlencoded(server):
    _, url = server
    form = {"name": "Zoë & co", "list[]": ["1", "2"], "n": "42"}
    body = urllib.parse.urlencode(form, doseq=True)
    r = http_request(url, "/post/index.php?from=query", "POST", body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200, r
    data = r.json()
    assert data["method"] == "POST"
    assert data["content_type"] == "application/x-www-form-urlencoded"
    assert data["post"] == {"name": "Zoë & co", "list": ["1", "2"], "n": "42"}
    assert data["get"] == {"from": "query"}


def test_multipart_upload_and_move_uploaded_file(server):
    tfpm, url = server
    content = os.urandom(200_000) + b"end of the uploaded file\n"
    dest = tfpm.dir / f"moved-{uuid.uuid4().hex}.bin"
    body, ctype = multipart({"dest": str(dest), "title": "my upload"},
                            {"doc": ("report.bin", content, "application/octet-stream")})
    r = http_request(url, "/upload/index.php", "POST", body=body, headers={"Content-Type": ctype})
    assert r.status == 200, r
    data = r.json()
    f = data["files"]["doc"]
    assert f["name"] == "report.bin"
    assert f["type"] == "application/octet-stream"
    assert f["size"] == len(content)
    assert f["error"] == 0
    assert data["post"] == {"dest": str(dest), "title": "my upload"}
    assert data["is_uploaded_file"] is True
    assert data["moved"] is True
    assert data["tmp_sha256"] == sha256(content)
    assert data["dest_sha256"] == sha256(content)
    assert data["tmp_still_exists"] is False
    assert dest.read_bytes() == content
    # PHP deletes its upload temporaries at the end of the request.
    assert list((tfpm.dir / "uploads").iterdir()) == []


def test_cookies_in_and_out(server):
    _, url = server
    r1 = http_get(url, "/cookies/index.php")
    assert r1.status == 200, r1
    assert r1.json()["cookies"] in ({}, [])  # json_encode([]) is "[]"
    set_cookies = r1.get_all("Set-Cookie")
    assert len(set_cookies) == 2, set_cookies
    assert any(c.startswith("visits=1;") and "HttpOnly" in c for c in set_cookies), set_cookies
    assert any(c.startswith("flavour=choc%20chip;") and "SameSite=Lax" in c for c in set_cookies), \
        set_cookies
    jar = "; ".join(c.split(";", 1)[0] for c in set_cookies)
    r2 = http_get(url, "/cookies/index.php", headers={"Cookie": jar})
    data = r2.json()
    assert data["cookies"] == {"visits": "1", "flavour": "choc chip"}
    assert data["visits"] == 2
    assert any(c.startswith("visits=2;") for c in r2.get_all("Set-Cookie"))


def test_custom_request_headers(server):
    _, url = server
    r = http_get(url, "/headers/index.php",
                 headers={"X-Foo": "bar baz, qux", "X-Multi-Word-Header": "v1"})
    assert r.status == 200, r
    data = r.json()
    assert data["server_x_foo"] == "bar baz, qux"
    assert data["server_x_multi_word"] == "v1"
    assert data["functions_exist"] == [True, True]
    h = data["getallheaders"]
    assert h["X-Foo"] == "bar baz, qux"
    assert h["X-Multi-Word-Header"] == "v1"
    assert h["Host"] == "localhost" or h["Host"].startswith("127.0.0.1")
    assert data["apache_request_headers"] == h
    # The script's own response header made it back through nginx.
    assert r.headers["x-echo-foo"] == "bar baz, qux"


def test_getallheaders(server):
    _, url = server
    sent = {f"X-Header-{i}": f"value {i} " + "v" * (i + 1) for i in range(20)}
    sent["Accept-Language"] = "fr-CH, fr;q=0.9"
    sent["User-Agent"] = "tfpm-tests/1.0"
    r = http_get(url, "/headers/index.php", headers=sent)
    got = r.json()["getallheaders"]
    for k, v in sent.items():
        assert got.get(k) == v, (k, got)
    # Only real HTTP headers: no CGI variables leak into the array.
    for cgi in ("Script-Filename", "Request-Method", "Query-String", "Document-Root"):
        assert cgi not in got, got


@pytest.mark.parametrize("code", [201, 404, 503])
def test_http_response_code(server, code):
    _, url = server
    r = http_get(url, f"/status/index.php?code={code}")
    assert r.status == code, r
    assert r.body == f"status {code}\n".encode()


def test_redirect_302(server):
    _, url = server
    r = http_get(url, "/status/index.php?location=" + urllib.parse.quote("/elsewhere?x=1", safe=""))
    assert r.status == 302, r
    assert r.headers["location"] == "/elsewhere?x=1"


def test_fatal_error_is_500_and_threads_keep_working(tfpm_factory, nginx_factory):
    tfpm = tfpm_factory(processes=1, threads=2)
    url = nginx_factory(tfpm, PHP_DIR)
    for kind in ("error", "exception", "error", "exception"):
        r = http_get(url, f"/fatal/index.php?kind={kind}")
        assert r.status == 500, r
        assert b"never printed" not in r.body
        assert b"Uncaught" not in r.body  # display_errors is off
    # The same two threads serve the next requests normally.
    for i in range(6):
        r = http_get(url, f"/echo/index.php?i={i}")
        assert r.status == 200, r
        assert r.json()["get"] == {"i": str(i)}
    log = url.nginx.error_log()
    assert "Call to undefined function tfpm_test_this_function_does_not_exist()" in log
    assert "tfpm test uncaught exception" in log
    threads = tfpm.status()["pools"][0]["processes"][0]["threads"]
    assert sum(t["requests"] for t in threads) >= 10


def test_8mb_upload_hashed_by_php(server):
    _, url = server
    body = os.urandom(8 * 1024 * 1024 + 12345)
    r = http_request(url, "/hash_input/index.php", "POST", body=body,
                     headers={"Content-Type": "application/octet-stream"})
    assert r.status == 200, r
    data = r.json()
    assert data["content_length"] == len(body)
    assert data["length"] == len(body)
    assert data["sha256"] == sha256(body)


def test_16mb_response(server):
    _, url = server
    r = http_get(url, "/big_output/index.php?mb=16")
    assert r.status == 200, r
    h = hashlib.sha256()
    for i in range(16 * 1024 * 1024 // 64):
        h.update(hashlib.sha256(str(i).encode()).hexdigest().encode())
    assert len(r.body) == 16 * 1024 * 1024
    assert hashlib.sha256(r.body).hexdigest() == h.hexdigest()


def test_64_concurrent_requests_over_8_threads(server):
    tfpm, url = server
    before = tfpm.served()
    n = 64
    barrier = threading.Barrier(n, timeout=30 * SLOW)

    def one(i):
        rid = f"{i}-{uuid.uuid4().hex}"
        barrier.wait()
        r = http_get(url, f"/concurrency/index.php?id={rid}&sleep_ms=50", headers={"X-Request-Id": rid})
        return rid, r

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        results = list(pool.map(one, range(n)))
    for rid, r in results:
        assert r.status == 200, (rid, r)
        data = r.json()
        assert data["id"] == rid
        assert data["header_id"] == rid
        expected = hashlib.md5(",".join(f"{rid}:{i}" for i in range(1000)).encode()).hexdigest()
        assert data["check"] == expected
    assert len({rid for rid, _ in results}) == n
    assert set(r.json()["pid"] for _, r in results) <= set(tfpm.worker_pids())
    wait_until(lambda: tfpm.served() >= before + n, 10 * SLOW, what="scoreboard to count the requests")


def _check_finish_request(tfpm, url):
    marker = tfpm.dir / f"marker-{uuid.uuid4().hex}"
    r = http_get(url, f"/finish_request/index.php?sleep_ms=1000&marker={urllib.parse.quote(str(marker))}")
    # The response is complete while the script still sleeps.
    assert not marker.exists(), "the response arrived only after the script finished"
    assert r.status == 200, r
    assert r.body == b"response sent\n"
    wait_until(marker.exists, 10 * SLOW, what="the script to continue after fastcgi_finish_request()")
    wait_until(lambda: marker.read_text() != "", 5 * SLOW)
    assert marker.read_text() == "after finish_request: true"


def test_fastcgi_finish_request(server):
    tfpm, url = server
    _check_finish_request(tfpm, url)


def test_fastcgi_finish_request_with_fastcgi_keep_conn(server, nginx_factory):
    # With "fastcgi_keep_conn on" nginx ends the response at END_REQUEST.
    tfpm, _ = server
    url = nginx_factory(tfpm, PHP_DIR, extra_location="fastcgi_keep_conn on;")
    _check_finish_request(tfpm, url)
