<?php
// tools/stress: one script, many behaviours (?kind=).
$kind = $_GET['kind'] ?? 'normal';
switch ($kind) {
    case 'normal':
        echo 'ok ', md5(str_repeat('x', 1000 + (int)($_GET['n'] ?? 0)));
        break;
    case 'fibers':
        // Fibers switching back and forth, with the per-thread timer armed.
        set_time_limit(5);
        $out = [];
        $fibers = [];
        for ($i = 0; $i < 4; $i++) {
            $fibers[$i] = new Fiber(function () use ($i, &$out) {
                for ($j = 0; $j < 50; $j++) {
                    $out[] = "$i.$j";
                    Fiber::suspend();
                }
            });
            $fibers[$i]->start();
        }
        while (array_filter($fibers, fn($f) => !$f->isTerminated())) {
            foreach ($fibers as $f) {
                if (!$f->isTerminated()) $f->resume();
            }
        }
        echo 'fibers ', count($out);
        break;
    case 'fiber_timeout':
        // A Fiber busy loop that max_execution_time (1 s) ends.
        set_time_limit(1);
        $f = new Fiber(function () { while (true) { $x = hrtime(true); } });
        $f->start();
        break;
    case 'hang':
        sleep(3600);  // request_terminate_timeout ends it
        break;
    case 'stream':
        // The client goes away while this streams.
        for ($i = 0; $i < 20; $i++) {
            echo str_repeat('s', 8192), "\n";
            flush();
            usleep(20000);
        }
        break;
    case 'upload':
        echo 'sha ', hash('sha256', file_get_contents('php://input'));
        break;
}
