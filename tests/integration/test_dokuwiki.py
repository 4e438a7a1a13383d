"""DokuWiki (Debian's package, unchanged PHP code) through nginx -> tfpm.

The wiki runs from a private copy: /usr/share/dokuwiki, /etc/dokuwiki and
/var/lib/dokuwiki/data are copied into a temporary tree, and only the copy's
inc/preload.php (Debian's file that points DokuWiki at /etc/dokuwiki) is
rewritten to point at the copied configuration. The system's files are
never written; the test checks that.
"""
import hashlib
import html.parser
import http.cookiejar
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from helpers import SLOW

DOKU_SHARE = Path("/usr/share/dokuwiki")
DOKU_ETC = Path("/etc/dokuwiki")
DOKU_VAR = Path("/var/lib/dokuwiki")
PAGE_ID = "playground:playground"
USER, PASSWORD = "tfpmtester", "correct horse battery staple"

pytestmark = pytest.mark.skipif(not (DOKU_SHARE / "doku.php").is_file(),
                                reason="Debian's dokuwiki package is not installed")


def tree_digest(root):
    """sha256 over the names and contents of every file under root."""
    h = hashlib.sha256()
    for p in sorted(Path(root).rglob("*")):
        if p.is_file() and not p.is_symlink():
            h.update(str(p).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def build_app_tree(app):
    """DokuWiki's code as a tree of symlinks into /usr/share/dokuwiki, except
    the files whose own location decides which configuration is used: the
    entry scripts (DOKU_INC comes from their __DIR__, which PHP resolves
    through symlinks) and inc/init.php + inc/preload.php (init.php loads the
    preload.php next to its real path). Those are copies."""
    app.mkdir()
    for entry in DOKU_SHARE.iterdir():
        target = app / entry.name
        if entry.name in ("inc", "lib"):
            continue
        if entry.is_file() and entry.suffix == ".php":
            shutil.copy2(entry, target)
        else:
            target.symlink_to(entry)
    (app / "inc").mkdir()
    for entry in (DOKU_SHARE / "inc").iterdir():
        if entry.name in ("init.php", "preload.php"):
            shutil.copy2(entry, app / "inc" / entry.name)
        else:
            (app / "inc" / entry.name).symlink_to(entry)
    (app / "lib").mkdir()
    for entry in (DOKU_SHARE / "lib").iterdir():
        if entry.name == "exe":  # css.php, js.php, ... are entry scripts
            shutil.copytree(entry, app / "lib" / "exe")
        else:
            (app / "lib" / entry.name).symlink_to(entry.resolve())


@pytest.fixture(scope="module")
def wiki(module_tfpm_factory, module_nginx_factory):
    system_before = tree_digest(DOKU_VAR / "data") + tree_digest(DOKU_ETC)
    base = Path(tempfile.mkdtemp(prefix="tfpm-it-dokuwiki-", dir="/tmp"))
    app, conf, var = base / "app", base / "conf", base / "var"
    build_app_tree(app)
    # Dereference Debian's symlinks (conf/*.auth.php -> /var/lib/dokuwiki/acl)
    # so the copy's configuration never points back at the system's.
    subprocess.run(["cp", "-rL", str(DOKU_ETC), str(conf)], check=True)
    var.mkdir()
    subprocess.run(["cp", "-a", str(DOKU_VAR / "data"), str(var / "data")], check=True)

    preload = (app / "inc" / "preload.php").read_text()
    assert "/etc/dokuwiki" in preload, "Debian's preload.php changed: update this test"
    preload = preload.replace("/etc/dokuwiki", str(conf)).replace("/var/lib/dokuwiki", str(var))
    (app / "inc" / "preload.php").write_text(preload)
    # Settings of the copy: its data dir, no network access. Debian's ACL
    # stays (@ALL read, @user edit); a user to log in with is added.
    with open(conf / "local.php", "a") as f:
        f.write(f"\n$conf['savedir'] = '{var / 'data'}';\n"
                "$conf['updatecheck'] = 0;\n")
    pw_hash = hashlib.md5(PASSWORD.encode()).hexdigest()  # authplain accepts plain md5
    with open(conf / "users.auth.php", "a") as f:
        f.write(f"{USER}:{pw_hash}:tfpm Tester:tester@localhost:user\n")

    tfpm = module_tfpm_factory(processes=1, threads=4,
                               php_admin_value={"open_basedir": "", "memory_limit": "256M"})
    url = module_nginx_factory(tfpm, app)
    # Debian's fastcgi_params passes HTTP_HOST as $host, without the port,
    # so DokuWiki's absolute redirect URLs need the port from its baseurl.
    with open(conf / "local.php", "a") as f:
        f.write(f"$conf['baseurl'] = '{url}';\n")
    yield url, var / "data", tfpm
    shutil.rmtree(base, ignore_errors=True)
    system_after = tree_digest(DOKU_VAR / "data") + tree_digest(DOKU_ETC)
    assert system_after == system_before, "the system's DokuWiki files were modified"


class Browser:
    """urllib with a cookie jar; follows redirects as a browser does."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path):
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path, fields):
        data = urllib.parse.urlencode(fields).encode()
        return self._open(urllib.request.Request(
            self.base + path, data=data,
            headers={"Content-Type": "application/x-www-form-urlencoded"}))

    def _open(self, req):
        try:
            with self.opener.open(req, timeout=60 * SLOW) as r:
                return r.status, r.read().decode("utf-8", "replace"), r.geturl()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace"), e.geturl()


class FormParser(html.parser.HTMLParser):
    """Collects the form with id="dw__editform": action, inputs, textarea."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._form = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"id": a.get("id"), "action": a.get("action"), "method": a.get("method"),
                          "fields": {}, "buttons": {}}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("submit", "button"):
                self._form["buttons"][a["name"]] = a.get("value", "")
            elif kind != "checkbox" or "checked" in a:
                self._form["fields"][a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("name"):
            self._form["buttons"][a["name"]] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form["fields"][self._textarea] = ""

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._form = None


def test_start_page_renders(wiki):
    url, _, tfpm = wiki
    b = Browser(url)
    status, body, _ = b.get("/doku.php")
    assert status == 200, body[:2000]
    assert "DokuWiki" in body
    assert "Debian DokuWiki" in body  # the title from the copied conf/local.php
    assert "</html>" in body
    # DokuWiki's own pages render too, with its wiki syntax.
    status, body, _ = b.get("/doku.php?id=wiki:syntax")
    assert status == 200
    assert "Formatting Syntax" in body
    # The stylesheet and script bundles a browser loads next (PHP-built).
    status, css, _ = b.get("/lib/exe/css.php?t=dokuwiki")
    assert status == 200 and "{" in css and len(css) > 10000
    status, js, _ = b.get("/lib/exe/js.php?t=dokuwiki")
    assert status == 200 and "function" in js and len(js) > 10000
    assert "PHP Fatal" not in url.nginx.error_log()


def form_by_id(body, form_id):
    parser = FormParser()
    parser.feed(body)
    forms = [f for f in parser.forms if f["id"] == form_id]
    assert forms, f"no form {form_id!r} on the page"
    return forms[0]


def local_path(action, default):
    """A form's action as a path on our server."""
    if not action:
        return default
    return urllib.parse.urlsplit(action)._replace(scheme="", netloc="").geturl()


def test_anonymous_users_cannot_edit(wiki):
    url, data_dir, _ = wiki
    b = Browser(url)
    status, body, _ = b.get(f"/doku.php?id={PAGE_ID}&do=edit")
    assert status == 200
    # Debian's ACL: @ALL may only read, so "edit" shows the source read-only.
    form = form_by_id(body, "dw__editform")
    assert "do[save]" not in form["buttons"]
    page_file = data_dir / "pages" / "playground" / "playground.txt"
    before = page_file.read_text()
    fields = dict(form["fields"], wikitext="anonymous vandalism", summary="x")
    fields["do[save]"] = "Save"
    b.post(local_path(form["action"], "/doku.php"), fields)
    assert page_file.read_text() == before


def test_login_edit_and_save_a_page(wiki):
    url, data_dir, tfpm = wiki
    b = Browser(url)
    # Log in through the login form, as a browser does; DokuWiki keeps the
    # login in its PHP session (cookie "DokuWiki") and an auth cookie.
    status, body, _ = b.get(f"/doku.php?id={PAGE_ID}&do=login")
    assert status == 200, body[:2000]
    login = form_by_id(body, "dw__login")
    fields = dict(login["fields"], u=USER, p=PASSWORD)
    status, body, _ = b.post(local_path(login["action"], "/doku.php"), fields)
    assert status == 200, body[:2000]
    assert {c.name for c in b.jar} >= {"DokuWiki"}, [c.name for c in b.jar]
    assert "tfpm Tester" in body or USER in body, "not logged in"

    status, body, _ = b.get(f"/doku.php?id={PAGE_ID}&do=edit")
    assert status == 200, body[:2000]
    form = form_by_id(body, "dw__editform")
    fields = dict(form["fields"])
    assert fields.get("sectok"), "the edit form has no security token"
    assert "wikitext" in fields and "playground" in fields["wikitext"].lower()
    marker = f"tfpm-edit-{uuid.uuid4().hex}"
    fields["wikitext"] = f"====== Playground ======\n\nEdited through tfpm: **{marker}**\n"
    fields["summary"] = "tfpm integration test"
    fields["do[save]"] = form["buttons"].get("do[save]", "Save")
    action = local_path(form["action"], f"/doku.php?id={PAGE_ID}&do=edit")

    # A wrong security token is refused: the token is tied to the session.
    bad = dict(fields, sectok="0" * 32)
    status, body, _ = b.post(action, bad)
    page_file = data_dir / "pages" / "playground" / "playground.txt"
    assert marker not in page_file.read_text()

    status, body, _ = b.post(action, fields)
    assert status == 200, body[:2000]
    # Saved: the page's file in the copied data dir has the new text ...
    assert marker in page_file.read_text()
    # ... and a fresh load of the page (new browser, no session) shows it.
    status, body, _ = Browser(url).get(f"/doku.php?id={PAGE_ID}")
    assert status == 200
    assert f"<strong>{marker}</strong>" in body
    # DokuWiki recorded the change, by our user, with our summary.
    changes = (data_dir / "meta" / "playground" / "playground.changes").read_text()
    last = changes.strip().splitlines()[-1].split("\t")
    assert USER in last and "tfpm integration test" in last, last
