<?php
// ?n= bytes in one PHP message (w=m), one response header (w=h) or one
// echo (w=o): each reaches the SAPI as one piece it passes on. w=H: ?n=
// response headers instead.
$n = (int)($_GET['n'] ?? 0);
$w = $_GET['w'] ?? '';
if (str_contains($w, 'm')) error_log(str_repeat('m', $n));
if (str_contains($w, 'h')) header('X-Huge: ' . str_repeat('h', $n));
if (str_contains($w, 'o')) echo str_repeat('o', $n);
if (str_contains($w, 'H')) {
    for ($i = 0; $i < $n; $i++) header("X-Many: $i", false);
}
echo "ok\n";
