<?php
header('Content-Type: application/octet-stream');
$n = (int)($_GET['n'] ?? 1048576);
$chunk = str_repeat('0123456789abcdef', 4096);
for ($sent = 0; $sent < $n; $sent += strlen($chunk)) echo substr($chunk, 0, min(strlen($chunk), $n - $sent));
