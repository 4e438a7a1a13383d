"""Framework runtimes in worker mode, unchanged, through nginx -> tfpm:

* Symfony's Runtime component (Debian's php-symfony-runtime) with a
  FrankenPHP-style runtime (tools/bench/apps/symfony: src/Runtime,
  autoload_runtime.php, public/runtime.php);
* a Laravel Octane-style worker script around an app built from Debian's
  php-illuminate-* components (tools/bench/apps/illuminate).

Each app runs as the same code in a classic pool and in a worker pool
(leak_check: log), each behind its own nginx; every request goes to both
and the responses must be identical (status, body, headers but Date).
Not marked `sanitize`: nginx, two framework boots and ~60 requests per
test are too slow under ASan/TSan (as the other nginx tests)."""
import json
import shutil
from pathlib import Path

import fcgi
from helpers import REPO, SLOW, http_request, wait_until

APPS = REPO / "tools" / "bench" / "apps"

# nginx: every path that is not a file goes to the front controller.
FRONT = "location / {{ try_files $uri /{script}$is_args$args; }}"


def status_json(sock):
    params = {"SCRIPT_NAME": "/status", "REQUEST_URI": "/status?json"}
    r = fcgi.request(sock, "/srv/nonexistent/status", query="json", params=params)
    assert r.status == 200, r
    return json.loads(r.body)


def leak_lines(tfpm):
    return [l.split("leak_check: ", 1)[1] for l in tfpm.log_text().splitlines() if "leak_check: " in l]


def reported_leaks(tfpm, sock, logged):
    """The worker pool's leak_check lines, once there are `logged` of them.
    Returns ({item: [request number in its run, ...]}, the status page's
    count of changes). An item is logged at its first change in a run and
    only counted after that."""
    lines = wait_until(lambda: (lambda l: l if len(l) >= logged else None)(leak_lines(tfpm)),
                       10 * SLOW, what=f"{logged} leak_check lines")
    counted = status_json(sock)["state leaks"]
    items = {}
    for line in lines:
        item, rest = line.split(" changed by request ", 1)
        number = int(rest.split("(request ", 1)[1].split(" ", 1)[0])
        items.setdefault(item, []).append(number)
    return items, counted


def start(tfpm_factory, nginx_factory, root, script, worker_script, env, worker):
    """A classic pool (www) and a worker pool (wk, one thread: every request
    meets the state the previous one left) for the same app, each behind an
    nginx. Returns (tfpm, classic_url, worker_url)."""
    tfpm = tfpm_factory(processes=1, threads=2, env=env, pools={
        "wk": {"listen": "{dir}/wk.sock", "processes": 1, "threads": 1, "mode": "worker",
               "env": env, "status_path": "/status",
               "worker": dict(script=str(worker_script), leak_check="log", **worker)}})
    front = FRONT.format(script=script)
    classic = nginx_factory(tfpm, root, front)
    worker = nginx_factory(str(tfpm.dir / "wk.sock"), root, front)
    return tfpm, classic, worker


def compare(classic_url, worker_url, cases, rounds):
    """Sends each case to both, `rounds` times; returns the worker's
    responses of the last round."""
    last = []
    for _ in range(rounds):
        last = []
        for method, path, body, headers in cases:
            a = http_request(classic_url, path, method, body=body, headers=headers)
            b = http_request(worker_url, path, method, body=body, headers=headers)
            head_a = [(k, v) for k, v in a.header_list if k.lower() != "date"]
            head_b = [(k, v) for k, v in b.header_list if k.lower() != "date"]
            assert (a.status, head_a, a.body) == (b.status, head_b, b.body), (method, path, a, b)
            last.append(b)
    return last


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_symfony_runtime_with_a_frankenphp_style_runtime_runs_unchanged(tfpm_factory, nginx_factory, tmp_path):
    app = tmp_path / "symfony"
    shutil.copytree(APPS / "symfony", app)
    env = {"APP_ENV": "prod", "APP_RUNTIME": "App\\Runtime\\FrankenPhpRuntime",
           # The runtime's own loop limit: the script returns after 7
           # requests (autoload_runtime.php's exit(0)) and tfpm runs it again.
           "FRANKENPHP_LOOP_MAX": "7"}
    tfpm, classic, worker = start(tfpm_factory, nginx_factory, app / "public", "runtime.php",
                                  app / "public" / "runtime.php", env, {"leak_warmup": 0})
    cases = [
        ("GET", "/api/items/42", None, None),
        ("GET", "/api/echo?x=1&y[]=2", None, {"X-Test": "hello", "Cookie": "c1=v1; c2=v2"}),
        ("GET", "/api/visit/alice", None, None),
        ("GET", "/api/visit/bob", None, None),   # the reset between requests worked: previous is null
        ("GET", "/api/echo?status=418&set=teapot", None, None),
        ("POST", "/api/echo", b"a=1&b=two", FORM),
        ("GET", "/api/nope", None, None),
        ("POST", "/api/items/42", None, None),
    ]
    last = compare(classic, worker, cases, rounds=3)
    assert [r.status for r in last] == [200, 200, 200, 200, 418, 200, 404, 405]
    assert last[0].json()["framework"].startswith("symfony 5.4"), last[0].body
    assert last[3].json() == {"name": "bob", "previous": None}
    assert last[4].headers["x-set"] == "teapot"
    assert last[5].json()["post"] == {"a": "1", "b": "two"}

    # 24 requests on one thread, 7 per run: the runner's loop ended three
    # times and the script returned (exit(0)) each time - a clean restart,
    # no failure.
    st = status_json(str(tfpm.dir / "wk.sock"))
    assert st["restarts exit"] == 3, st
    assert st["restarts crash"] == 0 and st["restarts timeout"] == 0, st
    log = tfpm.log_text()
    assert "failed after" not in log, log

    # leak_check (log, no warm-up): what the first request of each run
    # fills, as the kernel boots lazily in it: Symfony's static caches (the
    # router's compiled routes, the kernel's container-freshness cache) and
    # the kernel itself, which autoload_runtime.php keeps in the global $app
    # (booted, resetServices, its container's services). Nothing else: the
    # VisitLog service is reset by the kernel, and no static is written
    # after the first request of a run. ($app changes again, counted but not
    # logged, when a later request of the run is the first to use a service
    # the container creates lazily - the echo or the error listener.)
    leaks, counted = reported_leaks(tfpm, str(tfpm.dir / "wk.sock"), logged=12)
    assert set(leaks) == {"Symfony\\Component\\Routing\\Router::$cache",
                          "Symfony\\Component\\HttpKernel\\Kernel::$freshCache", "$app"}, leaks
    assert all(numbers == [1, 1, 1, 1] for numbers in leaks.values()), leaks  # four runs
    assert counted >= 12, counted


def test_octane_style_worker_around_illuminate_runs_unchanged(tfpm_factory, nginx_factory, tmp_path):
    app = tmp_path / "illuminate"
    shutil.copytree(APPS / "illuminate", app)
    env = {"MAX_REQUESTS": "8"}  # the Octane convention: the script returns after 8 requests
    tfpm, classic, worker = start(tfpm_factory, nginx_factory, app / "public", "index.php",
                                  app / "public" / "worker.php", env,
                                  # the loop's request counter changes every request, by design
                                  {"leak_warmup": 0, "leak_allow": ["$requests"]})
    cases = [
        ("GET", "/items/42", None, None),
        ("GET", "/echo?x=1&y[]=2", None, {"X-Test": "hello", "Cookie": "c1=v1; c2=v2"}),
        ("GET", "/visit/alice", None, None),
        ("GET", "/visit/bob", None, None),   # each request had its own container: previous is null
        ("GET", "/echo?status=418&set=teapot", None, None),
        ("POST", "/echo", b"a=1&b=two", FORM),
        ("GET", "/hello", None, None),
        ("GET", "/nope", None, None),
        ("DELETE", "/items/42", None, None),
    ]
    last = compare(classic, worker, cases, rounds=3)
    assert [r.status for r in last] == [200, 200, 200, 200, 418, 200, 200, 404, 405]
    assert last[0].json() == {"id": 42, "name": "item-42", "path": "items/42", "framework": "illuminate"}
    assert last[1].json()["query"] == {"x": "1", "y": ["2"]} and last[1].json()["header"] == "hello"
    assert last[3].json() == {"name": "bob", "previous": None}
    assert last[5].json()["post"] == {"a": "1", "b": "two"}
    assert last[6].body == b"hello from illuminate\n" and last[6].headers["x-stamp"] == "illuminate"
    assert last[8].headers["allow"] == "GET, HEAD", last[8].header_list

    st = status_json(str(tfpm.dir / "wk.sock"))
    assert st["restarts exit"] == 3, st  # 27 requests, 8 per run
    assert st["restarts crash"] == 0 and st["restarts timeout"] == 0, st
    assert "failed after" not in tfpm.log_text()

    # leak_check (log, no warm-up, the script's own request counter
    # allowed): what the first request of each run does, since an Octane
    # worker boots inside it - the worker object in a global, the
    # container's static instance, Illuminate's lazily built route
    # validators, and Symfony's method-override flag that
    # Request::capture() turns on. Nothing after the first request: the
    # clone/flush leaves the booted application as it was (checked below).
    leaks, counted = reported_leaks(tfpm, str(tfpm.dir / "wk.sock"), logged=16)
    assert set(leaks) == {"$worker", "Illuminate\\Container\\Container::$instance",
                          "Illuminate\\Routing\\Route::$validators",
                          "Symfony\\Component\\HttpFoundation\\Request::$httpMethodParameterOverride"}, leaks
    assert all(numbers == [1, 1, 1, 1] for numbers in leaks.values()), leaks  # four runs
    # Logged once per run and counted every time: equal numbers mean no item
    # changed again after the first request of its run.
    assert counted == 16, counted
