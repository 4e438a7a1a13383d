<?php
// Idle memory trimming, worker mode (tests/integration/test_idle_trim.py).
// Boot keeps 50000 objects for the life of the script. A request with ?n=N
// builds N short strings and drops them (garbage in the Zend heap once the
// handler returns); every request checks every kept object.
// Answers {"pid":..., "count":..., "kept_ok":..., "requests":...}.
$keep = [];
for ($i = 0; $i < 50000; $i++) {
    $o = new stdClass;
    $o->v = 'k' . $i;
    $keep[] = $o;
}
$requests = 0;
while (tfpm_handle_request(function () use (&$keep, &$requests) {
    $requests++;
    header('Content-Type: application/json');
    $n = (int)($_GET['n'] ?? 0);
    $a = [];
    for ($i = 0; $i < $n; $i++) {
        $a[] = 'g' . $i;
    }
    $kept_ok = 0;
    foreach ($keep as $i => $o) {
        if ($o->v === 'k' . $i) {
            $kept_ok++;
        }
    }
    echo json_encode(['pid' => getmypid(), 'count' => count($a), 'kept_ok' => $kept_ok, 'requests' => $requests]);
})) {
}
