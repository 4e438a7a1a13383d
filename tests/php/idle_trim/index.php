<?php
// Idle memory trimming fixture (tests/integration/test_idle_trim.py).
//   ?n=N  builds an array of N short strings ("v0", "v1", ...: Zend's
//         32-byte bin, so they fill its 2 MiB chunks) and drops it at the
//         end of the request: the thread's heap keeps chunks cached for
//         the next request. Every string is checked before the answer.
// Answers {"pid":..., "count":..., "ok":..., "last":...}.
header('Content-Type: application/json');
$n = (int)($_GET['n'] ?? 0);
$a = [];
for ($i = 0; $i < $n; $i++) {
    $a[] = 'v' . $i;
}
$ok = 0;
foreach ($a as $i => $v) {
    if ($v === 'v' . $i) {
        $ok++;
    }
}
echo json_encode(['pid' => getmypid(), 'count' => count($a), 'ok' => $ok, 'last' => $n > 0 ? $a[$n - 1] : null]);
