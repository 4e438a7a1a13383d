<?php
// What a pool's configuration shows a script: $_SERVER, getenv(), the INI
// values named in ?ini=a,b and php_sapi_name().
header('Content-Type: application/json');
$ini = [];
foreach (explode(',', $_GET['ini'] ?? '') as $name) {
    if ($name !== '') {
        $ini[$name] = ini_get($name);
    }
}
$server = $_SERVER;
unset($server['REQUEST_TIME'], $server['REQUEST_TIME_FLOAT']);
echo json_encode(['server' => $server, 'env' => getenv(), 'ini' => $ini, 'sapi' => php_sapi_name()],
                 JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES);
