<?php
// Facts about the runtime.
header('Content-Type: application/json');
echo json_encode([
    'zts' => PHP_ZTS,
    'version' => PHP_VERSION,
    'sapi' => php_sapi_name(),
    'display_errors' => ini_get('display_errors'),
    'extensions' => get_loaded_extensions(),
    'opcache' => function_exists('opcache_get_status'),
]);
