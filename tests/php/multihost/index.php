<?php
// Names the host that answers (the pool's env TFPM_TEST_HOST) and, before
// anything else, appends the request id to the file named by the pool's env
// TFPM_TEST_STARTED: the multi-host test reads it to know which requests
// had begun on a host when that host was killed. ?ms= sleeps that long.
$rid = (string)($_GET['rid'] ?? '');
if (!preg_match('/^[0-9]{1,12}$/', $rid)) {
    http_response_code(400);
    exit("bad rid\n");
}
$started = getenv('TFPM_TEST_STARTED');
if ($started !== false && $started !== '') {
    file_put_contents($started, $rid . "\n", FILE_APPEND);
}
usleep(min(1000, max(0, (int)($_GET['ms'] ?? 0))) * 1000);
header('Content-Type: application/json');
echo json_encode(['rid' => $rid, 'host' => (string)getenv('TFPM_TEST_HOST'), 'pid' => getmypid()]);
