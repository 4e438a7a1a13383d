<?php
// tools/stress: worker-mode script; handler runs Fibers too.
$n = 0;
while (tfpm_handle_request(function () use (&$n) {
    $n++;
    $f = new Fiber(function () { Fiber::suspend('w'); return 'x'; });
    $v = $f->start();
    $f->resume();
    echo "worker $v", $f->getReturn(), ' ', $_GET['id'] ?? '';
})) {
    gc_collect_cycles();
}
