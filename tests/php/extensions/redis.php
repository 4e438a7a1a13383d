<?php
// phpredis against the test's redis-server: ?sock=PATH&n=N increments the
// shared counter N times and round-trips a value unique to this request.
header('Content-Type: application/json');
$r = new Redis();
$r->connect($_GET['sock']);
$mine = bin2hex(random_bytes(8));
for ($i = 0; $i < (int)$_GET['n']; $i++) {
    $r->incr('tfpm:counter');
}
$r->set("tfpm:own:$mine", $mine);
echo json_encode(['own' => $r->get("tfpm:own:$mine") === $mine, 'thread' => readlink('/proc/thread-self'),
                  'counter' => (int)$r->get('tfpm:counter')]);
