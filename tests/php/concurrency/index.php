<?php
// Echoes its request id (query and header), after a short sleep and some
// per-request allocation, so many requests overlap.
header('Content-Type: application/json');
$id = $_GET['id'] ?? '';
$data = [];
for ($i = 0; $i < 1000; $i++) {
    $data[] = $id . ':' . $i;
}
usleep((int)($_GET['sleep_ms'] ?? 50) * 1000);
echo json_encode([
    'id' => $id,
    'header_id' => $_SERVER['HTTP_X_REQUEST_ID'] ?? null,
    'check' => md5(implode(',', $data)),
    'pid' => getmypid(),
]);
