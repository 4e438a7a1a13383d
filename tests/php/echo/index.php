<?php
// GET: echoes the query string as PHP parsed it, plus request facts.
header('Content-Type: application/json');
echo json_encode([
    'get' => $_GET,
    'method' => $_SERVER['REQUEST_METHOD'],
    'query_string' => $_SERVER['QUERY_STRING'] ?? null,
    'request_uri' => $_SERVER['REQUEST_URI'] ?? null,
    'script_name' => $_SERVER['SCRIPT_NAME'] ?? null,
    'script_filename' => $_SERVER['SCRIPT_FILENAME'] ?? null,
    'path_info' => $_SERVER['PATH_INFO'] ?? null,
    'php_self' => $_SERVER['PHP_SELF'] ?? null,
    'sapi' => php_sapi_name(),
]);
