<?php
// Worker mode: the handler hangs as ?how= asks (see tests/php/hang).
$boot = bin2hex(random_bytes(6));
$n = 0;
while (tfpm_handle_request(function () use ($boot, &$n) {
    $n++;
    $how = $_GET['how'] ?? 'ok';
    if ($how === 'busy') {
        while (true) {
            $x = hrtime(true);
        }
    }
    if ($how === 'sleep') {
        sleep(3600);
    }
    echo "$boot $n";
})) {
}
