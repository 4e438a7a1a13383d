"""Workers that cannot stay up: the php.ini line that crashed every worker
(a startup message on each new PHP thread)."""
import re

import pytest

import fcgi
from helpers import php_fixture

CLASSIC = php_fixture("crashloop", "index.php")
DEPRECATED_INI = php_fixture("crashloop", "deprecated.ini")


def pool_pids(tfpm, pool="www"):
    st = tfpm.status()
    return sorted(p["pid"] for p in st["pools"] if p["name"] == pool for p in p["processes"])


@pytest.mark.sanitize
def test_startup_deprecation_in_php_ini_does_not_crash_workers(tfpm_factory):
    """Regression: with log_errors on, a setting PHP 8.4 reports as deprecated
    at startup (session.sid_length) is reported again on every new PHP thread,
    inside ts_resource(), through our log_message, before our TSRM cache was
    set: every worker died on SIGSEGV right after it started."""
    tfpm = tfpm_factory(ini_file=DEPRECATED_INI, processes=2, threads=4)
    pids = pool_pids(tfpm)
    for i in range(40):
        r = fcgi.request(tfpm.sock, CLASSIC, query=f"i={i}")
        assert r.status == 200 and r.body.startswith(b"classic "), r
    log = tfpm.log_text()
    # Once in MINIT and once per new thread, in each process, through our
    # log_message (the pool's threads all started: the daemon was ready).
    seen = len(re.findall(r"PHP message: PHP Deprecated: .*session.sid_length INI setting is deprecated", log))
    assert seen >= 2 * (1 + 4), log
    assert pool_pids(tfpm) == pids, "a worker was replaced:\n" + log
    assert "exited on signal" not in log, log


@pytest.mark.sanitize
def test_startup_deprecation_with_max_requests_recycling(tfpm_factory):
    """The same on interpreters recycled by max_requests (ts_free_thread,
    then ts_resource again on the same thread)."""
    tfpm = tfpm_factory(ini_file=DEPRECATED_INI, processes=1, threads=2, max_requests=3)
    pids = pool_pids(tfpm)
    for i in range(30):
        assert fcgi.request(tfpm.sock, CLASSIC, query=f"i={i}").status == 200
    log = tfpm.log_text()
    # 30 requests over 2 threads, a new interpreter every 3: at least 8 recycles.
    seen = log.count("session.sid_length INI setting is deprecated")
    assert seen >= 1 + 2 + 8, log
    assert pool_pids(tfpm) == pids and "exited on signal" not in log, log
