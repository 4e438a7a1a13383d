<?php
// Facts about the runtime.
header('Content-Type: application/json');
echo json_encode([
    'zts' => PHP_ZTS,
    // PHP 8.4 made PHP_ZTS a bool (it was int 1 before): true === PHP_ZTS == 1.
    'zts_is_true' => PHP_ZTS === true,
    'zts_equals_1' => PHP_ZTS == 1,
    'version' => PHP_VERSION,
    'sapi' => php_sapi_name(),
    'display_errors' => ini_get('display_errors'),
    'extensions' => get_loaded_extensions(),
    'opcache' => function_exists('opcache_get_status'),
]);
