"""WordPress (Debian's package, unchanged PHP code) through nginx -> tfpm,
with a real MariaDB server.

The flow a new site owner goes through in a browser: the install wizard,
logging in (test cookie, auth cookies, redirects), publishing a post with
the block editor's REST request and viewing it at its pretty permalink,
uploading an image the way the media uploader does (async-upload.php) and
finding it in the media library and on disk, served back by nginx.

The site runs from a private tree: /usr/share/wordpress as symlinks, except
the entry scripts (WordPress sets ABSPATH from the __DIR__ of wp-load.php,
which PHP resolves through symlinks) and Debian's wp-config.php, whose
/etc/wordpress lookup is pointed at the test's own config directory. Debian's
wp-content layout (/var/lib/wordpress/wp-content, themes as symlinks into
/usr/share) is rebuilt in the temporary tree. nginx runs with
conf/nginx/wordpress.conf + conf/nginx/tfpm.conf. Nothing under /etc or
/var/lib/wordpress is written; the test checks that.
"""
import hashlib
import html
import http.cookiejar
import json
import re
import shutil
import struct
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from pathlib import Path

import pytest

from helpers import REPO, SLOW, crash_lines, multipart

WP_SHARE = Path("/usr/share/wordpress")
WP_ETC = Path("/etc/wordpress")
WP_VAR = Path("/var/lib/wordpress")
WP_SNIPPET = REPO / "conf" / "nginx" / "wordpress.conf"
THEME = "twentytwentythree"
ADMIN, PASSWORD = "tfpmadmin", "tfpm-" + uuid.uuid4().hex  # strong: no pw_weak needed
SITE_TITLE = "tfpm WordPress " + uuid.uuid4().hex[:8]

# Also under ASan/TSan: a real application whose requests overlap (install's
# loopback request and wp-cron run while another request waits for them),
# with mysqli, GD and cookie logins in PHP threads. Measured (2 cores):
# about 10 s plain, 35 s ASan, 90 s TSan.
pytestmark = [
    pytest.mark.sanitize,
    pytest.mark.skipif(not (WP_SHARE / "wp-load.php").is_file()
                       or not (WP_SHARE / "wp-content" / "themes" / THEME).is_dir(),
                       reason=f"Debian's wordpress and wordpress-theme-{THEME} packages are not installed"),
]


def tree_digest(root):
    """sha256 over the names, link targets and contents under root."""
    h = hashlib.sha256()
    for p in sorted(Path(root).rglob("*")):
        h.update(str(p).encode() + b"\0")
        if p.is_symlink():
            h.update(str(p.readlink()).encode())
        elif p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def build_app_tree(app):
    """WordPress's code as symlinks into /usr/share/wordpress, except the
    files whose own location decides which installation runs: the top-level
    scripts (wp-load.php sets ABSPATH = __DIR__, and PHP resolves __DIR__
    through symlinks) and wp-admin's scripts, which load
    dirname(__DIR__)/wp-load.php. Those are copies of Debian's files."""
    app.mkdir()
    for entry in WP_SHARE.iterdir():
        if entry.is_file() and entry.suffix == ".php":
            shutil.copy2(entry, app / entry.name)
        elif entry.name != "wp-admin":
            (app / entry.name).symlink_to(entry)
    admin = app / "wp-admin"
    admin.mkdir()
    for entry in (WP_SHARE / "wp-admin").iterdir():
        if entry.is_file() and entry.suffix == ".php":
            shutil.copy2(entry, admin / entry.name)
        elif entry.name in ("network", "user", "maint"):  # more entry scripts
            shutil.copytree(entry, admin / entry.name)
        else:
            (admin / entry.name).symlink_to(entry)


def png_image(width, height):
    """A valid RGB PNG with a gradient (so GD has something to resize)."""
    rows = b"".join(
        b"\0" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 128))
        for y in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Browser:
    """urllib with a cookie jar. get()/post() follow redirects as a browser
    does unless follow=False; they return (status, headers, body, final URL)."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        cookies = urllib.request.HTTPCookieProcessor(self.jar)
        self.opener = urllib.request.build_opener(cookies)
        self.no_redirect = urllib.request.build_opener(cookies, _NoRedirect)

    def get(self, path, follow=True, headers=None):
        return self._open(urllib.request.Request(self.base + path, headers=headers or {}), follow)

    def post(self, path, fields=None, body=None, content_type=None, follow=True, headers=None):
        if fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            content_type = "application/x-www-form-urlencoded"
        headers = dict(headers or {}, **{"Content-Type": content_type})
        return self._open(urllib.request.Request(self.base + path, data=body, headers=headers), follow)

    def cookie_names(self):
        return {c.name for c in self.jar}

    def _open(self, req, follow):
        opener = self.opener if follow else self.no_redirect
        try:
            with opener.open(req, timeout=120 * SLOW) as r:
                return r.status, r.headers, r.read(), r.geturl()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read(), e.geturl()


def text(body):
    return body.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def site(request, mariadb, module_tfpm_factory, module_nginx_factory):
    # mariadb first: it is torn down last, after nginx and tfpm have stopped
    # (a wp-cron request may still be running at the end).
    system_before = tree_digest(WP_ETC) + tree_digest(WP_VAR)
    base = Path(tempfile.mkdtemp(prefix="tfpm-it-wordpress-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(base, ignore_errors=True))  # also if setup fails
    app, conf, content = base / "app", base / "etc", base / "wp-content"
    build_app_tree(app)
    # Debian's wp-config.php, with its /etc/wordpress lookup pointed here.
    wp_config = (app / "wp-config.php").read_text()
    assert "'/etc/wordpress/config-'" in wp_config, "Debian's wp-config.php changed: update this test"
    (app / "wp-config.php").write_text(wp_config.replace("/etc/wordpress/", f"{conf}/"))
    # Debian's wp-content: packaged themes as symlinks, uploads writable.
    for sub in ("themes", "plugins", "uploads", "languages"):
        (content / sub).mkdir(parents=True)
    (content / "themes" / THEME).symlink_to(WP_SHARE / "wp-content" / "themes" / THEME)

    db_name, db_user, db_password = mariadb.create_database()
    salts = "".join(f"define('{k}', '{uuid.uuid4().hex}{uuid.uuid4().hex}');\n"
                    for k in ("AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY",
                              "AUTH_SALT", "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"))
    conf.mkdir()
    config = f"""<?php
define('DB_NAME', '{db_name}');
define('DB_USER', '{db_user}');
define('DB_PASSWORD', '{db_password}');
define('DB_HOST', 'localhost:{mariadb.sock}');
define('WP_CONTENT_DIR', '{content}');
{salts}
// No requests to wordpress.org (updates, translations, news): the machine
// may be offline. Requests to the site itself (install's permalink check,
// wp-cron) still go out, through nginx.
define('WP_HTTP_BLOCK_EXTERNAL', true);
"""
    # Debian's wp-config.php loads config-<host>.php, the host from
    # HTTP_HOST without its port: config-127.0.0.1.php.
    (conf / "config-127.0.0.1.php").write_text(config)

    tfpm = module_tfpm_factory(processes=2, threads=4,
                               php_admin_value={"memory_limit": "256M"},
                               ini={"upload_max_filesize": "16M", "post_max_size": "16M"})
    snippet = WP_SNIPPET.read_text()
    snippet, n = re.subn(r"alias\s+/var/lib/wordpress/wp-content/;", f"alias {content}/;", snippet)
    assert n == 1, "conf/nginx/wordpress.conf must alias /var/lib/wordpress/wp-content/"
    # Debian's fastcgi_params (since nginx 1.22.1-9+deb12u7) passes HTTP_HOST
    # as nginx's $host, which has no port: fine for a site on port 80/443,
    # but this one listens on a random port, and WordPress would redirect
    # every request to the URL with the port, in a loop. The test's copy
    # passes "$host:$server_port" (without that line nginx passes the Host
    # header as it came, port included).
    params = Path("/etc/nginx/fastcgi_params").read_text()
    params = re.sub(r"fastcgi_param\s+HTTP_HOST\s+\$host;", "fastcgi_param HTTP_HOST $host:$server_port;",
                    params)
    (base / "fastcgi_params").write_text(params)
    # The test's nginx.conf has no `include mime.types` in http{} (a real
    # one does): the server gets it, so images go out as image/png.
    url = module_nginx_factory(tfpm, app, "include /etc/nginx/mime.types;\n" + snippet,
                               fastcgi_params=base / "fastcgi_params")
    yield url, tfpm, mariadb, db_name, content
    assert tree_digest(WP_ETC) + tree_digest(WP_VAR) == system_before, \
        "the system's WordPress files were modified"


@pytest.fixture(scope="module")
def installed(site):
    """Runs the install wizard once; returns what it saw along the way."""
    url = site[0]
    b = Browser(url)
    seen = {}
    seen["root"] = b.get("/", follow=False)
    seen["form"] = b.get("/wp-admin/install.php")
    seen["submit"] = b.post("/wp-admin/install.php?step=2", {
        "weblog_title": SITE_TITLE, "user_name": ADMIN, "admin_password": PASSWORD,
        "admin_password2": PASSWORD, "admin_email": "admin@example.com", "blog_public": "0",
        "Submit": "Install WordPress", "language": ""})
    return seen


def login(url):
    """Logs in through wp-login.php as a browser does; returns the browser
    and the login POST's (status, headers, body, url)."""
    b = Browser(url)
    status, _, body, _ = b.get("/wp-login.php")
    assert status == 200, text(body)[:2000]
    assert 'name="log"' in text(body)
    assert "wordpress_test_cookie" in b.cookie_names()
    answer = b.post("/wp-login.php", {"log": ADMIN, "pwd": PASSWORD, "wp-submit": "Log In",
                                      "redirect_to": url + "/wp-admin/", "testcookie": "1"},
                    follow=False)
    return b, answer


def test_install_wizard(site, installed):
    url, tfpm, mariadb, db_name, _ = site
    status, headers, _, _ = installed["root"]
    assert status == 302, status
    assert headers["Location"].endswith("/wp-admin/install.php"), headers["Location"]

    status, _, body, _ = installed["form"]
    assert status == 200, text(body)[:2000]
    assert 'name="weblog_title"' in text(body) and 'name="admin_password"' in text(body)

    status, _, body, _ = installed["submit"]
    assert status == 200, text(body)[:3000]
    assert "Success!" in text(body), text(body)[:3000]
    assert ADMIN in text(body)
    # The database has WordPress's tables, the title and the admin user.
    options = dict(mariadb.sql("SELECT option_name, option_value FROM wp_options WHERE "
                               "option_name IN ('blogname', 'siteurl', 'template', "
                               "'permalink_structure')", db_name))
    assert options["blogname"] == SITE_TITLE
    assert options["siteurl"] == url
    assert options["template"] == THEME
    # install checked through a loopback request (PHP -> nginx -> tfpm)
    # that nginx's try_files serves pretty permalinks, and turned them on.
    assert options["permalink_structure"] == "/%year%/%monthnum%/%day%/%postname%/", options
    assert mariadb.sql("SELECT user_login FROM wp_users", db_name) == [[ADMIN]]

    # Installed: the front page is the site, wp-admin asks for a login.
    status, _, body, _ = Browser(url).get("/")
    assert status == 200 and SITE_TITLE in text(body), text(body)[:2000]
    status, headers, _, _ = Browser(url).get("/wp-admin/", follow=False)
    assert status == 302 and "/wp-login.php?redirect_to=" in headers["Location"], headers
    # Running the wizard again is refused.
    status, _, body, _ = Browser(url).get("/wp-admin/install.php")
    assert "Already Installed" in text(body), text(body)[:2000]


def test_login_cookies_and_redirects(site, installed):
    url = site[0]
    # A wrong password: the form again, with an error, and no auth cookie.
    b = Browser(url)
    b.get("/wp-login.php")
    status, _, body, _ = b.post("/wp-login.php", {"log": ADMIN, "pwd": "wrong", "wp-submit": "Log In",
                                                  "testcookie": "1"})
    assert status == 200 and "is incorrect" in text(body), text(body)[:2000]
    assert not any(n.startswith("wordpress_logged_in_") for n in b.cookie_names())

    # Without the test cookie WordPress says cookies are blocked.
    status, _, body, _ = Browser(url).post("/wp-login.php", {"log": ADMIN, "pwd": PASSWORD,
                                                             "testcookie": "1"})
    assert "cookies" in text(body).lower() and "blocked" in text(body).lower(), text(body)[:2000]

    b, (status, headers, _, _) = login(url)
    assert status == 302, status
    assert headers["Location"] == url + "/wp-admin/"
    set_cookies = headers.get_all("Set-Cookie")
    names = {c.split("=", 1)[0] for c in set_cookies}
    assert any(n.startswith("wordpress_logged_in_") for n in names), set_cookies
    assert any(re.fullmatch(r"wordpress_[0-9a-f]{32}", n) for n in names), set_cookies
    assert all("HttpOnly" in c for c in set_cookies if c.startswith("wordpress_logged_in_"))
    # The auth cookie is scoped to /wp-admin; the jar sends it there.
    status, _, body, final = b.get("/wp-admin/")
    assert status == 200 and final == url + "/wp-admin/", final
    assert "Dashboard" in text(body) and "Howdy" in text(body), text(body)[:2000]

    # Logging out (nonce from the admin bar) clears the login.
    logout = re.search(r'href="([^"]*wp-login\.php\?action=logout[^"]*)"', text(body))
    assert logout, "no logout link in the admin bar"
    logout_path = urllib.parse.urlsplit(html.unescape(logout.group(1)))
    status, headers, _, _ = b.get(f"{logout_path.path}?{logout_path.query}", follow=False)
    assert status == 302 and "loggedout=true" in headers["Location"], headers
    status, headers, _, _ = b.get("/wp-admin/", follow=False)
    assert status == 302 and "wp-login.php" in headers["Location"]


def rest_nonce(b):
    """The REST nonce the block editor uses, from post-new.php."""
    status, _, body, _ = b.get("/wp-admin/post-new.php")
    assert status == 200, text(body)[:2000]
    m = re.search(r'createNonceMiddleware\(\s*"([0-9a-f]+)"\s*\)', text(body))
    assert m, "no REST nonce on post-new.php"
    return m.group(1)


def test_publish_post_and_view_it(site, installed):
    url, _, mariadb, db_name, _ = site
    b, (status, _, _, _) = login(url)
    assert status == 302
    nonce = rest_nonce(b)
    marker = "tfpm-post-" + uuid.uuid4().hex
    title = f"Hello from tfpm {marker[-8:]}"
    post = {"title": title, "status": "publish",
            "content": f"<!-- wp:paragraph --><p>Body {marker} \u00e9t\u00e9 &amp; more</p>"
                       "<!-- /wp:paragraph -->"}
    # The block editor's request: POST /wp-json/wp/v2/posts (a pretty URL,
    # through try_files to index.php) with the nonce header and cookies.
    status, _, body, _ = b.post("/wp-json/wp/v2/posts", body=json.dumps(post).encode(),
                                content_type="application/json", headers={"X-WP-Nonce": nonce})
    assert status == 201, text(body)[:3000]
    created = json.loads(body)
    assert created["status"] == "publish" and created["title"]["raw"] == title
    link = created["link"]
    assert link.startswith(url + "/") and link.endswith("/"), link  # a pretty permalink

    # Without the nonce the same request is refused (cookie auth needs it).
    status, _, body, _ = b.post("/wp-json/wp/v2/posts", body=json.dumps(post).encode(),
                                content_type="application/json")
    assert status == 401, (status, text(body)[:500])

    # A visitor (no cookies) sees the post at its permalink ...
    visitor = Browser(url)
    status, _, body, final = visitor.get(link[len(url):])
    assert status == 200 and final == link, (status, final)
    page = text(body)
    assert title in page and f"Body {marker} \u00e9t\u00e9 &amp; more" in page, page[:3000]
    # ... and on the front page, and at ?p=ID (redirected to the permalink).
    status, _, body, _ = visitor.get("/")
    assert title in text(body)
    status, headers, _, _ = visitor.get(f"/?p={created['id']}", follow=False)
    assert status == 301 and headers["Location"] == link, (status, headers.get("Location"))
    assert mariadb.sql(f"SELECT post_status FROM wp_posts WHERE ID = {int(created['id'])}",
                       db_name) == [["publish"]]


def test_image_upload_lands_in_media_library(site, installed):
    url, _, mariadb, db_name, content = site
    b, (status, _, _, _) = login(url)
    assert status == 302
    # media-new.php's uploader (plupload) posts the file to
    # async-upload.php with the parameters of its wpUploaderInit, among them
    # the media-form nonce; with short=1 the answer is the attachment's id.
    status, _, body, _ = b.get("/wp-admin/media-new.php")
    assert status == 200, text(body)[:2000]
    m = re.search(r"wpUploaderInit = (\{.*?\});\s*</script>", text(body), re.S)
    assert m, "no uploader settings on media-new.php"
    settings = json.loads(m.group(1))
    params = {k: str(v) for k, v in settings["multipart_params"].items()}
    assert params["_wpnonce"] and params["short"] == "1", params
    assert settings["url"] == url + "/wp-admin/async-upload.php", settings["url"]

    image = png_image(320, 240)
    name = f"tfpm-{uuid.uuid4().hex[:8]}.png"
    data, ctype = multipart(dict(params, name=name),
                            {settings["file_data_name"]: (name, image, "image/png")})
    # A wrong nonce is refused and stores nothing.
    bad, bad_ctype = multipart(dict(params, name=name, _wpnonce="0" * 10),
                               {settings["file_data_name"]: (name, image, "image/png")})
    status, _, body, _ = b.post("/wp-admin/async-upload.php", body=bad, content_type=bad_ctype)
    assert status == 403, (status, text(body)[:500])
    assert not list((content / "uploads").rglob("*.png"))

    status, _, body, _ = b.post("/wp-admin/async-upload.php", body=data, content_type=ctype)
    assert status == 200, text(body)[:3000]
    assert text(body).strip().isdigit(), text(body)[:3000]
    att_id = int(text(body))

    # The library lists it (the REST collection the media grid reads) ...
    status, _, body, _ = Browser(url).get("/wp-json/wp/v2/media?media_type=image")
    assert status == 200, text(body)[:2000]
    library = {m["id"]: m for m in json.loads(body)}
    assert att_id in library, library.keys()
    entry = library[att_id]
    assert entry["mime_type"] == "image/png"
    assert entry["media_details"]["width"] == 320
    # ... GD made the thumbnail ...
    sizes = entry["media_details"]["sizes"]
    assert sizes["thumbnail"]["width"] == 150 and sizes["thumbnail"]["height"] == 150, sizes
    # ... and upload.php shows it to the admin.
    status, _, body, _ = b.get("/wp-admin/upload.php?mode=list")
    assert status == 200 and name.rsplit(".", 1)[0] in text(body), text(body)[:2000]

    # The file is on disk in the content directory, and nginx serves it
    # back byte for byte (through the snippet's /wp-content/ alias).
    source = entry["source_url"]
    rel = urllib.parse.urlsplit(source).path
    assert rel.startswith("/wp-content/uploads/"), source
    assert (content / rel[len("/wp-content/"):]).read_bytes() == image
    status, headers, served, _ = Browser(url).get(rel)
    assert status == 200 and served == image and headers["Content-Type"] == "image/png"
    thumb = urllib.parse.urlsplit(sizes["thumbnail"]["source_url"]).path
    status, _, served, _ = Browser(url).get(thumb)
    assert status == 200 and served.startswith(b"\x89PNG"), status
    count = mariadb.sql(f"SELECT COUNT(*) FROM wp_posts WHERE ID = {att_id} "
                        "AND post_type = 'attachment'", db_name)
    assert count == [["1"]]


def test_no_fatal_errors_and_no_5xx(site, installed):
    url, tfpm, _, _, _ = site
    log = tfpm.log_text()
    assert "PHP Fatal" not in log and "Fatal error" not in log, \
        [line for line in log.splitlines() if "Fatal" in line][:20]
    assert not crash_lines(log), crash_lines(log)
    nginx = url.nginx
    access = (nginx.dir / "access.log").read_text()
    statuses = [line.split('"')[2].split()[0] for line in access.splitlines() if line.count('"') >= 2]
    assert statuses, "nginx logged no requests"
    assert not [s for s in statuses if s.startswith("5")], \
        [line for line in access.splitlines() if line.split('"')[2].split()[0].startswith("5")]
    # nginx's error log: PHP's warnings and deprecations (WordPress 6.1 on
    # PHP 8.4) arrive as "FastCGI sent in stderr"; nothing else may be there
    # (no failed connect, no upstream closing early, no timeout).
    other = [line for line in nginx.error_log().splitlines()
             if "[error]" in line or "[crit]" in line or "[alert]" in line or "[emerg]" in line
             if "FastCGI sent in stderr" not in line]
    assert not other, other[:20]
