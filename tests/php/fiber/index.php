<?php
// A Fiber echoes ?lines lines, suspending after each one, while the
// request's max_execution_time timer is armed (set_time_limit).
// ?busy=1: the Fiber busy-loops instead, past set_time_limit(1).
$id = $_GET['id'] ?? '0';
if (!empty($_GET['busy'])) {
    set_time_limit(1);
    $f = new Fiber(function () {
        // CPU-bound; the small string allocations also give ThreadSanitizer
        // (which delivers signals only at intercepted calls such as malloc
        // under USE_ZEND_ALLOC=0) a point to deliver the timer signal.
        $x = 0;
        while (true) {
            $x++;
            $s = str_repeat('x', 64 + ($x & 63));
        }
    });
    $f->start();
    echo "unreachable\n";
    exit;
}
set_time_limit(5);
$lines = (int)($_GET['lines'] ?? 200);
$f = new Fiber(function () use ($id, $lines) {
    for ($i = 0; $i < $lines; $i++) {
        echo "fiber $id line $i ", str_repeat('.', $i % 50), "\n";
        if ($i % 10 == 0) {
            flush();
        }
        Fiber::suspend($i);
    }
    return 'done';
});
$n = 0;
$f->start();
while (!$f->isTerminated()) {
    $n++;
    usleep(500);
    $f->resume();
}
echo "fiber $id finished after $n resumes: ", $f->getReturn(), "\n";
