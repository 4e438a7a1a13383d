"""Fixtures of tfpm's end-to-end tests.

Environment:
  TFPM_BUILD_DIR   meson build directory to test (default /work/main/build).
                   For a sanitizer build (b_sanitize=address|thread) only
                   the tests marked `sanitize` run, with longer deadlines.

Fixtures:
  tfpm_factory(**overrides) -> helpers.Tfpm   (function scope)
  module_tfpm_factory(**overrides)            (module scope, shared daemons)
  nginx_factory(tfpm, root, extra_location="") -> base URL (function scope)
  module_nginx_factory(...)                   (module scope)
  haproxy_factory(servers, root, ...) -> helpers.Haproxy (function scope)
  mariadb -> helpers.MariaDB                  (module scope; a private server on a
                                               Unix socket, .create_database())
"""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import helpers  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sanitize: run also against ASan/TSan builds (keep request counts moderate)")


def pytest_report_header(config):
    return (f"tfpm build: {helpers.BUILD_DIR} (sanitizer: {helpers.SANITIZER or 'none'}, "
            f"deadline factor {helpers.SLOW})")


def pytest_collection_modifyitems(config, items):
    if helpers.SANITIZER:
        skip = pytest.mark.skip(reason=f"{helpers.SANITIZER} sanitizer build: only `sanitize` tests run")
        for item in items:
            if "sanitize" not in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _binaries_exist():
    for path in (helpers.TFPM, helpers.PM_CTL, helpers.BUILD_DIR / "src" / "worker" / "tfpm-worker"):
        if not path.exists():
            pytest.exit(f"{path} is missing: build tfpm first (ninja -C {helpers.BUILD_DIR})", 2)


class _Instances:
    """Starts things, and on teardown stops them all and reports problems."""

    def __init__(self):
        self.tfpms = []
        self.nginxes = []  # and HAProxies: anything with stop() and cleanup_dir()

    def tfpm(self, **overrides):
        wait_ready = overrides.pop("wait_ready", True)
        t = helpers.Tfpm(wait_ready=False, **overrides)
        self.tfpms.append(t)  # before waiting: a failed start is cleaned up too
        if wait_ready:
            t.wait_ready()
        return t

    def nginx(self, tfpm, root, extra_location="", **kw):
        sock = tfpm.sock if hasattr(tfpm, "sock") else (None if tfpm is None else str(tfpm))
        n = helpers.Nginx(sock, str(root), extra_location, **kw)
        self.nginxes.append(n)
        url = helpers.NginxURL(n.url)
        url.nginx = n
        return url

    def haproxy(self, servers, root, **kw):
        h = helpers.Haproxy(servers, str(root), **kw)
        self.nginxes.append(h)
        return h

    def close(self):
        problems = []
        for n in self.nginxes:
            n.stop()
        for t in self.tfpms:
            for p in t.close():
                problems.append(f"[{t.dir}] {p}")
        if not problems:
            for t in self.tfpms:
                t.cleanup_dir()
            for n in self.nginxes:
                n.cleanup_dir()
        return problems


def _factory_fixture(request):
    inst = _Instances()
    request.addfinalizer(lambda: _finish(inst))
    return inst


def _finish(inst):
    problems = inst.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def _instances(request):
    return _factory_fixture(request)


@pytest.fixture(scope="module")
def _module_instances(request):
    return _factory_fixture(request)


@pytest.fixture
def tfpm_factory(_instances):
    """tfpm_factory(**overrides) starts a tfpm and waits until it is ready.

    See helpers.Tfpm for the overrides. Teardown stops it with SIGQUIT
    (SIGKILL after a deadline) and fails if a worker is left behind or the
    log shows a crash or a sanitizer report.
    """
    return _instances.tfpm


@pytest.fixture(scope="module")
def module_tfpm_factory(_module_instances):
    return _module_instances.tfpm


@pytest.fixture
def nginx_factory(_instances):
    """nginx_factory(tfpm, root, extra_location="", upstream_keepalive=0, fastcgi_params=None,
    upstream_servers=None, pass_extra="", http_extra="")  (tfpm None with upstream_servers)
    -> "http://127.0.0.1:PORT"
    (a str; its .nginx is the helpers.Nginx, e.g. for .error_log())."""
    def make(tfpm, root, extra_location="", **kw):
        return _instances.nginx(tfpm, root, extra_location, **kw)
    return make


@pytest.fixture
def haproxy_factory(_instances):
    """haproxy_factory(servers, root, backend_extra="", defaults_extra="")
    -> helpers.Haproxy (its .url is the base URL); stopped at teardown."""
    return _instances.haproxy


@pytest.fixture(scope="module")
def module_nginx_factory(_module_instances):
    def make(tfpm, root, extra_location="", **kw):
        return _module_instances.nginx(tfpm, root, extra_location, **kw)
    return make


@pytest.fixture
def tfpm(tfpm_factory):
    """A default daemon: pool www, 2 processes x 4 threads."""
    return tfpm_factory()


@pytest.fixture(scope="module")
def mariadb():
    """A private MariaDB server for this module's tests (Debian's
    mariadb-server binaries, its own data directory and socket under /tmp).
    Teardown shuts it down cleanly and fails if it did not exit with 0."""
    if not (helpers.MARIADBD and helpers.MARIADB_INSTALL_DB and helpers.MARIADB_CLIENT):
        pytest.skip("mariadb-server / mariadb-client are not installed")
    db = helpers.MariaDB()
    yield db
    db.stop()
    assert db.proc.returncode == 0, (f"mariadbd exited with {db.proc.returncode}:\n"
                                     + db.error_log()[-4000:])
    db.cleanup_dir()
