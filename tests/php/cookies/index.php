<?php
// Echoes the cookies received; sets "visits" (incremented) and "flavour".
header('Content-Type: application/json');
$visits = (int)($_COOKIE['visits'] ?? 0) + 1;
setcookie('visits', (string)$visits, ['path' => '/', 'httponly' => true]);
setcookie('flavour', 'choc chip', ['path' => '/', 'samesite' => 'Lax']);
echo json_encode(['cookies' => $_COOKIE, 'visits' => $visits,
                  'http_cookie' => $_SERVER['HTTP_COOKIE'] ?? null]);
