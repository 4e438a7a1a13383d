""".user.ini files (user_ini.filename, user_ini.cache_ttl) on tfpm's own.

The differential test compares what they do with php-fpm's; these tests
cover the cache, which php-fpm keeps per child and tfpm per thread.
"""
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

import fcgi
from helpers import SLOW, wait_until

SHOW = "<?php echo ini_get('precision'), '|', ini_get('serialize_precision');\n"


@pytest.fixture
def docroot():
    d = Path(tempfile.mkdtemp(prefix="tfpm-it-userini-", dir="/tmp"))
    for sub, precision in (("a", 5), ("b", 6)):
        (d / sub).mkdir()
        (d / sub / "show.php").write_text(SHOW)
        (d / sub / ".user.ini").write_text(f"precision = {precision}\n")
    (d / ".user.ini").write_text("serialize_precision = 3\n")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def show(t, docroot, sub):
    r = fcgi.request(t.sock, str(docroot / sub / "show.php"),
                     params={"DOCUMENT_ROOT": str(docroot), "SCRIPT_NAME": f"/{sub}/show.php"})
    assert r.status == 200 and r.stderr == b"", r
    return r.body.decode()


def test_user_ini_is_cached_for_cache_ttl(tfpm_factory, docroot):
    t = tfpm_factory(processes=1, threads=1)  # default user_ini.cache_ttl = 300
    assert show(t, docroot, "a") == "5|3"
    (docroot / "a" / ".user.ini").write_text("precision = 8\n")
    assert show(t, docroot, "a") == "5|3", "re-read before user_ini.cache_ttl passed"


def test_user_ini_is_reread_after_cache_ttl(tfpm_factory, docroot):
    t = tfpm_factory(processes=1, threads=1, ini={"user_ini.cache_ttl": "0"})
    assert show(t, docroot, "a") == "5|3"
    (docroot / "a" / ".user.ini").write_text("precision = 8\n")
    # With a TTL of 0 an entry expires when the clock's second changes.
    wait_until(lambda: show(t, docroot, "a") == "8|3", 10 * SLOW, interval=0.1,
               what="the changed .user.ini to be read")


def test_user_ini_filename_empty_turns_it_off(tfpm_factory, docroot):
    t = tfpm_factory(processes=1, threads=1, ini={"user_ini.filename": ""})
    assert show(t, docroot, "a") == "14|-1"


@pytest.mark.sanitize
def test_user_ini_on_many_threads(tfpm_factory, docroot):
    """Each thread has its own cache: concurrent requests to two
    directories always see their own directory's values."""
    t = tfpm_factory(processes=1, threads=4)
    wrong, errors = [], []

    def client(sub, expected):
        try:
            for _ in range(15):
                got = show(t, docroot, sub)
                if got != expected:
                    wrong.append((sub, got))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(sub, f"{p}|3"))
               for sub, p in (("a", 5), ("b", 6)) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60 * SLOW)
    assert not errors and not wrong, (errors, wrong[:5])


@pytest.mark.sanitize
def test_a_huge_document_root_is_answered_and_the_cache_still_works(tfpm_factory, docroot):
    # DOCUMENT_ROOT is part of the .user.ini cache key: 600 KB of it (under
    # max_params_size) is served like any root outside the script's path
    # (only the script directory's .user.ini), and the thread's key buffer
    # does not keep it (sapi/php_user_ini.cc).
    t = tfpm_factory(processes=1, threads=1)
    huge = "/nowhere" * 75_000
    r = fcgi.request(t.sock, str(docroot / "a" / "show.php"),
                     params={"DOCUMENT_ROOT": huge, "SCRIPT_NAME": "/a/show.php"})
    assert r.status == 200 and r.body == b"5|-1", r
    assert show(t, docroot, "a") == "5|3"
    assert show(t, docroot, "b") == "6|3"
