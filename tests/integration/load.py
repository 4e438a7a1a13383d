"""Continuous load for the operations tests (reload, restart, crash).

Load(...) runs client threads until stop(); every request is recorded
with its start and end time, its outcome and whether the answer was the
right one, so a test can say exactly which requests failed and when.

Two client kinds:
  HttpClient  one keep-alive HTTP/1.1 connection to nginx per client
              (http.client reconnects only when nginx says Connection: close)
  FcgiClient  direct FastCGI to a tfpm socket, a new connection per request
"""
import http.client
import itertools
import json
import threading
import time

import fcgi

_ids = itertools.count(1)


class Result:
    __slots__ = ("kind", "rid", "start", "end", "status", "ok", "error", "client", "host")

    def __init__(self, kind, rid, start, end, status, ok, error, client=None, host=None):
        self.kind, self.rid, self.start, self.end = kind, rid, start, end
        self.status, self.ok, self.error = status, ok, error
        self.client = client  # (kind, index): which client thread sent it
        self.host = host  # "host" requests: the host that answered

    def __repr__(self):
        return (f"<{self.kind} #{self.rid} {self.status} ok={self.ok} {self.error or ''} "
                f"{self.start:.3f}-{self.end:.3f}>")


class Load:
    """clients: [(kind, count)], kind "fast", "post", "slow", "host" or
    "hostpost". Fast
    requests run tests/php/concurrency (a few ms), "post" the same as a POST
    with a small form body (nginx never retries a POST on another upstream
    connection), slow ones tests/php/sleep with ?ms=slow_ms, "host" ones
    tests/php/multihost with ?ms=host_ms (a GET whose answer names the host
    that served it: Result.host; "hostpost" the same as a POST). `target` is an nginx base URL ("http://...") or a tfpm
    socket path (direct FastCGI). `php_root` is tests/php."""

    def __init__(self, target, php_root, clients, slow_ms=3000, think_s=0.005, timeout=60, host_ms=0):
        self.target = target
        self.host_ms = host_ms
        self.php_root = str(php_root)
        self.clients = clients
        self.slow_ms = slow_ms
        self.think_s = think_s
        self.timeout = timeout
        self.results = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []

    # -- running ----------------------------------------------------------

    def start(self):
        for kind, count in self.clients:
            for index in range(count):
                t = threading.Thread(target=self._client, args=(kind, index), daemon=True)
                t.start()
                self._threads.append(t)

    def stop(self, join_timeout=120):
        self._stop.set()
        for t in self._threads:
            t.join(join_timeout)
        alive = [t for t in self._threads if t.is_alive()]
        assert not alive, f"{len(alive)} load clients did not finish"

    def _record(self, r):
        with self._lock:
            self.results.append(r)

    def _path(self, kind, rid):
        if kind == "slow":
            return "/sleep/index.php", f"ms={self.slow_ms}&rid={rid}"
        if kind in ("host", "hostpost"):
            return "/multihost/index.php", f"rid={rid}&ms={self.host_ms}"
        return "/concurrency/index.php", f"id=r{rid}&sleep_ms=0&rid={rid}"

    def _check(self, kind, rid, body):
        """(right answer?, host named by it)"""
        if kind == "slow":
            return body == f"slept {self.slow_ms} ms\n".encode(), None
        try:
            answer = json.loads(body)
            if kind in ("host", "hostpost"):
                return answer["rid"] == str(rid) and bool(answer["host"]), answer["host"]
            return answer["id"] == f"r{rid}", None
        except (ValueError, KeyError, TypeError):
            return False, None

    def clients_past(self, kind, t):
        """True once every client of `kind` has finished a request that began
        after monotonic time `t`: a client sends one request at a time, so
        whatever it had in flight at `t` has ended."""
        want = sum(n for k, n in self.clients if k == kind)
        with self._lock:
            done = {r.client for r in self.results if r.kind == kind and r.start > t}
        return len(done) >= want

    def _client(self, kind, index):
        http_mode = self.target.startswith("http://")
        conn = None
        if http_mode:
            host, port = self.target.split("//", 1)[1].split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=self.timeout)
        while not self._stop.is_set():
            rid = next(_ids)
            path, query = self._path(kind, rid)
            start = time.monotonic()
            status, ok, error, host = 0, False, None, None
            try:
                method = "POST" if kind in ("post", "hostpost") else "GET"
                body_out = f"payload={rid}".encode() if method == "POST" else None
                if http_mode:
                    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body_out else {}
                    conn.request(method, f"{path}?{query}", body=body_out, headers=headers)
                    resp = conn.getresponse()
                    body = resp.read()
                    status = resp.status
                else:
                    script = self.php_root + path.replace("/index.php", "") + "/index.php"
                    resp = fcgi.request(self.target, script, query=query, method=method, body=body_out or b"",
                                        params={"REQUEST_URI": f"{path}?{query}"}, timeout=self.timeout)
                    body, status = resp.body, resp.status
                right, host = self._check(kind, rid, body)
                ok = status == 200 and right
                if not ok and error is None:
                    error = f"status {status}, body {body[:100]!r}"
            except Exception as e:  # a failed request is a result, not a crash
                error = f"{type(e).__name__}: {e}"
                if http_mode:
                    conn.close()  # the next request opens a new connection
            self._record(Result(kind, rid, start, time.monotonic(), status, ok, error, client=(kind, index),
                                host=host))
            if kind != "slow" and self.think_s:
                time.sleep(self.think_s)
        if conn is not None:
            conn.close()

    # -- results ----------------------------------------------------------

    def snapshot(self):
        """A copy of the results so far (safe while the clients run)."""
        with self._lock:
            return list(self.results)

    def failures(self):
        return [r for r in self.results if not r.ok]

    def count(self, kind=None):
        return sum(1 for r in self.results if kind is None or r.kind == kind)
