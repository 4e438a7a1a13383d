<?php
// Fatal error on the 3rd request of every run.
$boot = bin2hex(random_bytes(6));
$n = 0;
while (tfpm_handle_request(function () use ($boot, &$n) {
    if (++$n === 3) {
        eval('function dup_fn() {}');
        eval('function dup_fn() {}');
    }
    echo "$boot $n";
})) {
}
