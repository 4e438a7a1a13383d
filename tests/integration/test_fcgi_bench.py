"""fcgi-bench against a real tfpm: a few hundred requests, correctness only.

The load generator's numbers are only worth something if it counts a wrong
answer as an error; these tests check both directions against the daemon.
"""
import hashlib
import json
import subprocess

from helpers import BUILD_DIR, php_fixture

BENCH = BUILD_DIR / "tools" / "fcgi-bench" / "fcgi-bench"


def run_bench(tfpm, *args):
    proc = subprocess.run([str(BENCH), "--unix", tfpm.sock, "--json", "--timeout", "30", *args],
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, json.loads(proc.stdout)


def test_fcgi_bench_counts_correct_responses(tfpm):
    body = b'{"get":{"a":"1"}'
    code, report = run_bench(tfpm, "-n", "300", "-c", "8", "-t", "2", "-k",
                             "--script", php_fixture("echo"), "--query", "a=1",
                             "--expect-body-contains", body.decode())
    assert code == 0, report
    assert report["requests"] == 300
    assert report["error_total"] == 0
    assert report["latency_us"]["p50"] > 0


def test_fcgi_bench_new_connection_per_request(tfpm):
    code, report = run_bench(tfpm, "-n", "200", "-c", "4",
                             "--script", php_fixture("echo"), "--expect-status", "200")
    assert code == 0, report
    assert report["requests"] == 200
    assert report["connections_opened"] >= 200


def test_fcgi_bench_counts_a_wrong_answer_as_an_error(tfpm):
    wrong = hashlib.sha256(b"not what the script prints").hexdigest()
    code, report = run_bench(tfpm, "-n", "50", "-c", "2", "-k",
                             "--script", php_fixture("echo"), "--expect-sha256", wrong)
    assert code == 1
    assert report["requests"] == 0
    assert report["errors"]["body"] == 50


def test_fcgi_bench_counts_a_missing_script_as_a_status_error(tfpm):
    code, report = run_bench(tfpm, "-n", "20", "-c", "2", "-k", "--script", "/nonexistent/x.php")
    assert code == 1
    assert report["errors"]["status"] == 20
