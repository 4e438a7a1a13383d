"""Reload with generations, rolling restart and crash recovery under load,
through real nginx. The numbers (requests, failures, times) are printed;
run with -s to see them."""
import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

import fcgi
from helpers import PHP_DIR, PM_CTL, SLOW, php_fixture, proc_alive, wait_until
from load import Load

INI = php_fixture("ini")
ECHO = php_fixture("echo")
SLEEP = php_fixture("sleep")


def generation(tfpm):
    return tfpm.status()["generation"]


def settled(tfpm):
    """No reload in progress and no earlier generation left."""
    st = tfpm.try_status()
    return st and "reloading" not in st and not st["previous_generations"]


def current_pids(tfpm, pool="www"):
    st = tfpm.status()
    return sorted(p["pid"] for p in st["pools"] if p["name"] == pool for p in p["processes"])


def running(tfpm, fixture):
    """How many threads of every pool are running tests/php/<fixture> now."""
    st = tfpm.try_status() or {"pools": []}
    return sum(1 for pool in st["pools"] for p in pool["processes"] for t in p.get("threads", [])
               if t["state"] == "Running" and f"/{fixture}/" in t.get("script", ""))


def nginx_upstream_errors(base_url):
    return [line for line in base_url.nginx.error_log().splitlines() if "[error]" in line]


@pytest.mark.parametrize("upstream_keepalive", [0, 32], ids=["nginx-new-conn", "nginx-upstream-keepalive"])
def test_20_reloads_under_load_fail_no_request(tfpm_factory, nginx_factory, upstream_keepalive):
    tfpm = tfpm_factory(processes=2, threads=16, process_control_timeout="20s", log_level=os.environ.get("TFPM_TEST_LOG_LEVEL", "notice"))
    url = nginx_factory(tfpm, PHP_DIR, upstream_keepalive=upstream_keepalive)
    sock_inode = os.stat(tfpm.sock).st_ino
    load = Load(url, PHP_DIR, [("fast", 30), ("post", 10), ("slow", 12)], slow_ms=3000)
    load.start()
    reloads = []  # (monotonic time the reload began, generation after it)
    try:
        wait_until(lambda: running(tfpm, "sleep") >= 12, 10 * SLOW, what="every slow client's request in flight")
        for i in range(1, 21):
            if i == 7:
                # php.ini change: takes effect through the new generation.
                tfpm.config["php"]["ini"]["precision"] = "11"
                tfpm.write_config()
            if i == 13:
                # A new pool on a new socket.
                tfpm.config["pools"]["extra"] = {"listen": str(tfpm.dir / "extra.sock"), "processes": 1,
                                                 "threads": 2}
                tfpm.write_config()
            before = generation(tfpm)
            began = time.monotonic()
            if i % 5 == 0:
                # SIGUSR2, php-fpm's reload signal: asynchronous.
                tfpm.send_signal(signal.SIGUSR2)
                wait_until(lambda: (lambda st: st and st["generation"] == before + 1 and "reloading" not in st)(
                    tfpm.try_status()), 60 * SLOW, interval=0.05, what=f"reload {i} by SIGUSR2")
            else:
                r = tfpm.ctl("reload", timeout=90 * SLOW)
                assert re.match(rf"ok: generation {before + 1} ready in [\d.]+ s; \d+ old process\(es\) "
                                rf"draining$", r.stdout.strip()), r.stdout
            reloads.append((began, before + 1))
            if i == 7:
                body = json.loads(fcgi.request(tfpm.sock, INI).body)
                assert body["before"]["precision"] == "11", body
            if i == 13:
                r = fcgi.request(str(tfpm.dir / "extra.sock"), ECHO, query="pool=extra")
                assert r.status == 200 and b'"pool":"extra"' in r.body, r
            time.sleep(0.5)
        # Let every slow request that started before the last reload finish.
        wait_until(lambda: load.clients_past("slow", reloads[-1][0]), 30 * SLOW,
                   what="the slow requests in flight at the last reload to end")
    finally:
        load.stop()
    wait_until(lambda: settled(tfpm), 30 * SLOW, interval=0.1, what="old generations to exit")

    failures = load.failures()
    slow = [r for r in load.results if r.kind == "slow"]
    spanning = [r for r in slow if any(r.start < t < r.end for t, _ in reloads)]
    errors = nginx_upstream_errors(url)
    print(f"\n[reload x20, upstream_keepalive={upstream_keepalive}] requests {len(load.results)} "
          f"(fast {load.count('fast')}, post {load.count('post')}, slow {len(slow)}), slow ones spanning a reload {len(spanning)}, "
          f"failed {len(failures)}, nginx [error] lines {len(errors)}, "
          f"kept connections handed over {tfpm.status()['connections_handed_over']}, "
          f"reload times {[round(b - a, 2) for (a, _), (b, _) in zip(reloads, reloads[1:])][:5]}...")
    for line in errors[:10]:
        print("  nginx:", line)
    for line in [l for l in tfpm.log_text().splitlines() if "kept connection" in l or "closing" in l][:10]:
        print("  tfpm:", line)
    assert not failures, f"{len(failures)} failed: {failures[:10]}"
    # Not even a retried upstream error: kept connections of a draining
    # worker are handed over to the new generation, never closed under nginx.
    assert not errors, errors[:10]
    assert len(spanning) >= 20, f"only {len(spanning)} slow requests spanned a reload"
    assert load.count("fast") > 1000 and load.count("post") > 300
    # The same listening socket throughout (never closed and re-created).
    assert os.stat(tfpm.sock).st_ino == sock_inode
    st = tfpm.status()
    assert st["generation"] == 21
    if upstream_keepalive:
        assert st["connections_handed_over"] > 0
    assert {p["name"]: len(p["processes"]) for p in st["pools"]} == {"www": 2, "extra": 1}
    assert sorted(tfpm.worker_pids()) == sorted(p["pid"] for pool in st["pools"] for p in pool["processes"])
    log = tfpm.log_text()
    assert log.count("ready after") == 20
    assert "SIGKILL" not in log


def test_invalid_config_on_reload_is_refused_and_old_one_keeps_serving(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2)
    pids = current_pids(tfpm)
    good = tfpm.config_path.read_text()
    bad = good.replace("threads: 2", "threads: 0")
    assert bad != good
    tfpm.config_path.write_text(bad)
    line = next(i for i, text in enumerate(bad.splitlines(), 1) if "threads: 0" in text)
    r = tfpm.ctl("reload", check=False)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.strip() == f"pm-ctl: {tfpm.config_path}:{line}: pools.www.threads: must be >= 1", r.stderr
    # SIGUSR2 with the same file: refused too, and logged.
    tfpm.send_signal(signal.SIGUSR2)
    wait_until(lambda: tfpm.log_text().count("reload refused") >= 2, 10 * SLOW, what="the refusal in the log")
    assert f"SIGUSR2: reload refused, still serving the old configuration: {tfpm.config_path}:{line}: " \
           f"pools.www.threads: must be >= 1" in tfpm.log_text()
    assert fcgi.request(tfpm.sock, ECHO).status == 200
    assert current_pids(tfpm) == pids and generation(tfpm) == 1
    # config-test says the same without trying to reload.
    r = tfpm.ctl("config-test", str(tfpm.config_path), check=False)
    assert r.returncode == 1 and f"{tfpm.config_path}:{line}: pools.www.threads" in r.stderr, r
    tfpm.config_path.write_text(good)
    r = tfpm.ctl("config-test", str(tfpm.config_path))
    assert r.stdout.strip() == f"configuration file {tfpm.config_path} test is successful"
    assert tfpm.ctl("reload").returncode == 0
    assert generation(tfpm) == 2


@pytest.mark.sanitize
def test_reload_whose_workers_cannot_start_is_rolled_back(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=2)
    pids = current_pids(tfpm)
    # Valid config, but the new workers die before they are ready.
    tfpm.config["pools"]["www"]["chdir"] = "/nonexistent/dir"
    tfpm.write_config()
    r = tfpm.ctl("reload", check=False)
    assert r.returncode == 1, r
    assert "reload failed" in r.stderr and "before it was ready" in r.stderr, r.stderr
    assert "rolled back; the previous generation keeps serving" in tfpm.log_text()
    assert current_pids(tfpm) == pids and generation(tfpm) == 1
    for i in range(10):
        assert fcgi.request(tfpm.sock, ECHO, query=f"i={i}").status == 200
    wait_until(lambda: sorted(tfpm.worker_pids()) == pids, 10 * SLOW, what="the failed new workers to be gone")


def test_reload_with_no_wait_returns_at_once(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2)
    r = tfpm.ctl("reload", "--no-wait")
    assert r.stdout.strip() == "ok: generation 2 starting", r.stdout
    wait_until(lambda: settled(tfpm) and generation(tfpm) == 2, 20 * SLOW, what="generation 2")


def test_second_reload_during_one_is_refused_or_queued(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=2)
    assert tfpm.ctl("reload", "--no-wait").returncode == 0
    r = tfpm.ctl("reload", check=False)  # at once: the first is still starting its workers
    if r.returncode != 0:
        assert r.returncode == 1 and r.stderr.strip() == "pm-ctl: a reload is already in progress", r.stderr
    wait_until(lambda: settled(tfpm), 20 * SLOW, what="the reloads to finish")
    expected = 3 if r.returncode == 0 else 2
    assert generation(tfpm) == expected
    # SIGUSR2 during a reload is not lost: it runs after it.
    assert tfpm.ctl("reload", "--no-wait").returncode == 0
    tfpm.send_signal(signal.SIGUSR2)
    wait_until(lambda: settled(tfpm) and generation(tfpm) == expected + 2, 20 * SLOW,
               what="the reload and the SIGUSR2 reload after it")


def test_status_shows_the_draining_generation(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2)
    old_pid = current_pids(tfpm)[0]
    result = []
    t = threading.Thread(target=lambda: result.append(
        fcgi.request(tfpm.sock, SLEEP, query="ms=2500", params={"REQUEST_URI": "/slow?ms=2500"})))
    t.start()
    try:
        wait_until(lambda: tfpm.status()["pools"][0]["busy_threads"] == 1, 10 * SLOW, what="the slow request")
        tfpm.ctl("reload")
        out = tfpm.ctl("status").stdout
        assert re.search(r"^tfpm \S+ .*, generation 2$", out, re.M), out
        assert re.search(r"^previous generations and recycled processes$", out, re.M), out
        assert re.search(rf"^  process {old_pid}  stopping +started [\d-]+ [\d:]+  up \d+ s  requests \d+  "
                         rf"generation 1  pool www$", out, re.M), out
        assert re.search(r"^    thread \d+ +Running +requests \d+ +GET /slow\?ms=2500 \(\d+ ms\)$", out, re.M), out
        st = tfpm.status()
        assert [p["pid"] for p in st["previous_generations"]] == [old_pid]
        assert st["pools"][0]["processes"][0]["generation"] == 2
    finally:
        t.join(30 * SLOW)
    assert result and result[0].status == 200 and result[0].body == b"slept 2500 ms\n"
    wait_until(lambda: settled(tfpm), 20 * SLOW, what="the old worker to exit")


def test_reload_refuses_a_config_main_refuses_at_start(tfpm_factory):
    # The same checks as at start (here: a worker script that is not there).
    tfpm = tfpm_factory(processes=1, threads=1)
    tfpm.config["pools"]["www"]["mode"] = "worker"
    tfpm.config["pools"]["www"]["worker"] = {"script": "/nonexistent/worker.php"}
    tfpm.write_config()
    r = tfpm.ctl("reload", check=False)
    assert r.returncode == 1 and re.search(
        r"tfpm\.yaml:\d+: pools\.www\.worker\.script: /nonexistent/worker\.php: No such file", r.stderr), r.stderr
    assert generation(tfpm) == 1
    assert fcgi.request(tfpm.sock, ECHO).status == 200


def test_reload_turns_a_classic_pool_into_a_worker_pool(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2)
    assert fcgi.request(tfpm.sock, ECHO).status == 200
    app = php_fixture("worker", "app.php")
    tfpm.config["pools"]["www"]["mode"] = "worker"
    tfpm.config["pools"]["www"]["worker"] = {"script": app}
    tfpm.write_config()
    tfpm.ctl("reload")
    r = fcgi.request(tfpm.sock, app, query="id=after")
    assert r.status == 200 and b'"worker":"1"' in r.body and b'"id":"after"' in r.body, r


def test_removed_pool_socket_is_closed_after_its_drain(tfpm_factory):
    tfpm = tfpm_factory(processes=1, threads=2,
                        pools={"old": {"listen": "{dir}/old.sock", "processes": 1, "threads": 2}})
    old_sock = str(tfpm.dir / "old.sock")
    assert fcgi.request(old_sock, ECHO).status == 200
    del tfpm.config["pools"]["old"]
    tfpm.write_config()
    tfpm.ctl("reload")
    wait_until(lambda: settled(tfpm), 20 * SLOW, what="the old pool to drain")
    assert not os.path.exists(old_sock)
    assert [p["name"] for p in tfpm.status()["pools"]] == ["www"]


@pytest.mark.sanitize
def test_rolling_restart_of_one_pool_under_load(tfpm_factory, nginx_factory):
    tfpm = tfpm_factory(processes=2, threads=8, pools={"other": {"listen": "{dir}/other.sock", "processes": 1,
                                                                 "threads": 2}})
    url = nginx_factory(tfpm, PHP_DIR, upstream_keepalive=16)
    www_before = current_pids(tfpm)
    other_before = current_pids(tfpm, "other")
    load = Load(url, PHP_DIR, [("fast", 20 // SLOW), ("post", 4), ("slow", 6)], slow_ms=2000)
    load.start()
    try:
        wait_until(lambda: running(tfpm, "sleep") >= 6, 10 * SLOW, what="every slow client's request in flight")
        for _ in range(3):
            r = tfpm.ctl("restart", "www", timeout=60 * SLOW)
            assert r.stdout.startswith("ok: generation "), r.stdout
            last_restart = time.monotonic()
            time.sleep(0.7)
        wait_until(lambda: load.clients_past("slow", last_restart), 30 * SLOW,
                   what="the slow requests in flight at the last restart to end")
    finally:
        load.stop()
    wait_until(lambda: settled(tfpm), 30 * SLOW, interval=0.1, what="old workers to exit")
    failures = load.failures()
    print(f"\n[restart www x3] requests {len(load.results)}, failed {len(failures)}")
    assert not failures, failures[:10]
    www_after = current_pids(tfpm)
    assert len(www_after) == 2 and not set(www_after) & set(www_before)
    assert current_pids(tfpm, "other") == other_before  # untouched
    r = tfpm.ctl("restart", "nosuchpool", check=False)
    assert r.returncode == 1 and "no pool 'nosuchpool'" in r.stderr
    r = tfpm.ctl("restart", check=False)
    assert r.returncode == 2


@pytest.mark.sanitize
def test_kill_9_under_load_fails_only_requests_on_that_process(tfpm_factory):
    tfpm = tfpm_factory(processes=2, threads=4)
    tfpm.allowed_crash_patterns.append("exited on signal 9")
    load = Load(tfpm.sock, PHP_DIR, [("fast", 6), ("slow", 6)], slow_ms=1500)
    load.start()
    try:
        wait_until(lambda: running(tfpm, "sleep") >= 6, 10 * SLOW, what="every slow client's request in flight")
        st = tfpm.status()
        victim = st["pools"][0]["processes"][0]
        victim_pid, victim_slot = victim["pid"], victim["slot"]
        killed_at = time.monotonic()
        os.kill(victim_pid, signal.SIGKILL)

        def replacement():
            s = tfpm.try_status()
            if not s:
                return None
            for p in s["pools"][0]["processes"]:
                if p["slot"] == victim_slot and p["pid"] != victim_pid and p["state"] == "ready" and \
                        all(t["state"] != "Starting" for t in p["threads"]):
                    return p["pid"]
            return None
        new_pid = wait_until(replacement, 10 * SLOW, interval=0.005, what="a replacement worker")
        ready_after = time.monotonic() - killed_at
        # The replacement serves: a request answered by its pid (the
        # concurrency fixture reports getmypid()).
        served_by_new = None
        deadline = time.monotonic() + 10 * SLOW
        while served_by_new is None and time.monotonic() < deadline:
            r = fcgi.request(tfpm.sock, php_fixture("concurrency"), query="id=probe&sleep_ms=0")
            if json.loads(r.body)["pid"] == new_pid:
                served_by_new = time.monotonic() - killed_at
        wait_until(lambda: load.clients_past("slow", killed_at), 30 * SLOW,
                   what="the slow requests in flight at the kill to end")
    finally:
        load.stop()
    failures = load.failures()
    m = re.search(rf"child {victim_pid} exited on signal 9 \(SIGKILL\) after [\d.]+ seconds from start; "
                  rf"(requests in flight: (.*)|no request in flight)$", tfpm.log_text(), re.M)
    assert m, tfpm.log_text()
    named = re.findall(r"GET (/\w+)/index\.php\?\S*?rid=(\d+)", m.group(2) or "")
    in_flight = {rid for _, rid in named}
    named_slow = {rid for path, rid in named if path == "/sleep"}
    failed_ids = {str(r.rid) for r in failures}
    print(f"\n[kill -9] requests {len(load.results)}, failed {len(failures)}, named in flight on the victim "
          f"{len(in_flight)} ({len(named_slow)} slow), replacement ready after {ready_after * 1000:.0f} ms, "
          f"first request served by it after {served_by_new * 1000 if served_by_new else -1:.0f} ms")
    # The log names what the victim's scoreboard showed (best effort: a fast
    # request may have been answered just before). Its 1.5 s requests were
    # still running, so they failed with it.
    assert named_slow, m.group(0)
    assert named_slow <= failed_ids, f"named in flight but served: {named_slow - failed_ids}"
    # Only requests on the victim failed: all were sent before the kill, all
    # failed as broken connections (never as an answer), and no more than the
    # victim could hold (its 4 threads' requests and connections it had
    # accepted but not started yet).
    assert all(r.start < killed_at for r in failures), [r for r in failures if r.start >= killed_at]
    assert all("status" not in (r.error or "") for r in failures), failures
    assert len(failures) <= 8, failures
    assert served_by_new is not None and served_by_new < 1.0 * SLOW, served_by_new
    assert proc_alive(new_pid)
