<?php
// What php.ini and conf.d gave this PHP: the extensions named in ?ext=a,b
// (loaded or not), the ini files read, the user PHP runs as and the INI
// values named in ?ini=a,b.
header('Content-Type: application/json');
$ext = [];
foreach (explode(',', $_GET['ext'] ?? '') as $name) {
    if ($name !== '') {
        $ext[$name] = extension_loaded($name);
    }
}
$ini = [];
foreach (explode(',', $_GET['ini'] ?? '') as $name) {
    if ($name !== '') {
        $ini[$name] = ini_get($name);
    }
}
$user = posix_getpwuid(posix_geteuid());
echo json_encode(['ext' => $ext, 'ini' => $ini, 'loaded_file' => php_ini_loaded_file(),
                  'scanned' => php_ini_scanned_files(), 'user' => $user ? $user['name'] : null,
                  'uid' => posix_geteuid()], JSON_UNESCAPED_SLASHES);
