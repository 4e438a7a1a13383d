<?php
header('Content-Type: text/plain');
setcookie('plain', 'value');
setcookie('encoded', 'a b;c=d', ['expires' => 2000000000, 'path' => '/p', 'domain' => 'example.org',
          'secure' => true, 'httponly' => true, 'samesite' => 'Lax']);
setrawcookie('raw', 'x%20y');
ksort($_COOKIE);
echo 'COOKIE=', json_encode($_COOKIE), "\n";
echo 'HTTP_COOKIE=', var_export($_SERVER['HTTP_COOKIE'] ?? null, true), "\n";
