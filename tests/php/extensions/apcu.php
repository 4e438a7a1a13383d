<?php
// APCu: ?op=store&k=K&v=V or ?op=fetch&k=K; says which process and thread
// (/proc/thread-self is "PID/task/TID") answered. ?hold=S keeps the thread
// busy so that concurrent requests land on other threads.
header('Content-Type: application/json');
if (isset($_GET['hold'])) usleep((int)(1e6 * (float)$_GET['hold']));
$ok = $_GET['op'] === 'store' ? apcu_store($_GET['k'], $_GET['v']) : null;
$v = apcu_fetch($_GET['k'], $found);
echo json_encode(['stored' => $ok, 'found' => $found, 'value' => $found ? $v : null,
                  'thread' => readlink('/proc/thread-self'), 'enabled' => apcu_enabled()]);
