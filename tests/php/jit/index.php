<?php
// Work the tracing JIT compiles after a few runs (hot loops and calls), on
// the engine state it reaches through TSRM: exceptions, globals, static
// variables, objects, and a fiber. Prints what it computed and whether the
// JIT is on and has compiled anything.
function fib(int $n): int { return $n < 2 ? $n : fib($n - 1) + fib($n - 2); }

final class Acc {
    public int $sum = 0;
    public function add(int $v): void { $this->sum += $v; }
}

function counter(): int { static $n = 0; return ++$n; }

$GLOBALS['seen'] = 0;
$acc = new Acc();
$caught = 0;
for ($i = 0; $i < 20000; $i++) {
    $acc->add($i % 7);
    try {
        if ($i % 1000 === 999) throw new RuntimeException((string) $i);
    } catch (RuntimeException $e) {
        $caught += (int) $e->getMessage() > 0 ? 1 : 0;
    }
    $GLOBALS['seen']++;
}
$calls = 0;
for ($i = 0; $i < 3000; $i++) $calls = counter();
$fiber = new Fiber(function (int $x): int {
    $y = Fiber::suspend($x * 2);
    return fib($y);
});
$first = $fiber->start(10);
$fiber->resume(20);
$status = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
$jit = is_array($status) && isset($status['jit']) ? $status['jit'] : [];
echo json_encode([
    'fib' => fib(22),
    'sum' => $acc->sum,
    'caught' => $caught,
    'seen' => $GLOBALS['seen'],
    'static' => $calls,
    'fiber' => [$first, $fiber->getReturn()],
    'jit_on' => (bool) ($jit['on'] ?? false),
    'jit_used' => (int) (($jit['buffer_size'] ?? 0) - ($jit['buffer_free'] ?? 0)),
]);
