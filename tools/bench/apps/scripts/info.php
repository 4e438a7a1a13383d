<?php
// Not a scenario: lets tools/bench/compare check the setup of each server.
header('Content-Type: application/json');
$status = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
echo json_encode([
    'version' => PHP_VERSION,
    'zts' => PHP_ZTS,
    'sapi' => PHP_SAPI,
    'opcache' => is_array($status) && !empty($status['opcache_enabled']),
    'jit' => is_array($status) && !empty($status['jit']['enabled']),
    'memory_limit' => ini_get('memory_limit'),
    'post_max_size' => ini_get('post_max_size'),
]), "\n";
