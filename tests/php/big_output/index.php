<?php
// ?mb=N: N MiB of output, hex sha256 digests of "0", "1", "2", ... (64
// bytes each), echoed in 64 KiB chunks. The test recomputes the same bytes.
header('Content-Type: application/octet-stream');
$n = (int)($_GET['mb'] ?? 1) * 1024 * 1024 / 64;
$chunk = '';
for ($i = 0; $i < $n; $i++) {
    $chunk .= hash('sha256', (string)$i);
    if (strlen($chunk) >= 65536) {
        echo $chunk;
        $chunk = '';
    }
}
echo $chunk;
