<?php
// Process recycling fixture (tests/integration/test_recycling.py).
//   ?leak=BYTES  leaks BYTES outside the Zend heap (tfpm_test_leak
//                extension, malloc never freed): process_memory_limit.
//   ?grow=MB     grows a static array by MB one-MiB strings in this
//                request: the Zend heap peaks past memory_recycle.
// Answers {"pid":..., "leaked":..., "grown":...}.
function grow(int $mb): int {
    static $held = [];
    for ($i = 0; $i < $mb; $i++) {
        $held[] = str_repeat(chr(65 + $i % 26), 1 << 20);
    }
    return count($held);
}

header('Content-Type: application/json');
$out = ['pid' => getmypid(), 'leaked' => 0, 'grown' => 0];
if (isset($_GET['leak'])) {
    $out['leaked'] = tfpm_test_leak((int)$_GET['leak']);
}
if (isset($_GET['grow'])) {
    $out['grown'] = grow((int)$_GET['grow']);
}
echo json_encode($out);
