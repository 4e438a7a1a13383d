"""OPcache's JIT on tfpm's ZTS PHP. The JIT reaches the engine's globals
through TSRM's run-time path (_tsrm_ls_cache plus executor_globals_offset),
while libphp itself reaches them at offsets fixed in each thread's TLS block
(tools/lib/php-patches/zts/0002-tls-block.patch): both must name the same
memory in every thread, or JIT-compiled code would read another thread's
state or garbage. Several threads run JIT-compiled code at once here and
every answer must be exact.

Not in the sanitizer builds: they run without OPcache."""
import concurrent.futures
import json

import fcgi
from helpers import php_fixture

SCRIPT = php_fixture("jit")
EXPECTED = {"fib": 17711, "sum": sum(i % 7 for i in range(20000)), "caught": 20, "seen": 20000,
            "static": 3000, "fiber": [20, 6765]}


def run(tfpm):
    r = fcgi.request(tfpm.sock, SCRIPT)
    assert r.status == 200, r
    return json.loads(r.body)


def test_jit_compiled_code_gives_exact_answers_on_four_threads_at_once(tfpm_factory):
    t = tfpm_factory(processes=1, threads=4, ini={
        "opcache.enable": "1", "opcache.jit": "tracing", "opcache.jit_buffer_size": "16M",
        "opcache.jit_hot_loop": "8", "opcache.jit_hot_func": "8"})
    first = run(t)
    assert first["jit_on"] is True, first
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: run(t), range(80)))
    for r in [first] + results:
        assert {k: r[k] for k in EXPECTED} == EXPECTED, r
    assert max(r["jit_used"] for r in results) > 0, results[-1]  # it compiled traces
