<?php
// The pool's INI settings as the script sees them, and whether the script
// may change them: php_value may be changed with ini_set(), php_admin_value
// may not (as in php-fpm).
header('Content-Type: application/json');
$before = ['precision' => ini_get('precision'), 'memory_limit' => ini_get('memory_limit'),
           'display_errors' => ini_get('display_errors')];
$set_precision = ini_set('precision', '7');
$set_memory = ini_set('memory_limit', '512M');
echo json_encode([
    'before' => $before,
    'ini_set_precision' => $set_precision,
    'ini_set_memory_limit' => $set_memory,
    'after' => ['precision' => ini_get('precision'), 'memory_limit' => ini_get('memory_limit')],
    'env' => getenv('TFPM_TEST_ENV'),
    'home' => getenv('HOME'),
    'sapi' => php_sapi_name(),
]);
