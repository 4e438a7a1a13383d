<?php
// Request headers as $_SERVER, getallheaders() and apache_request_headers().
header('Content-Type: application/json');
header('X-Echo-Foo: ' . ($_SERVER['HTTP_X_FOO'] ?? ''));
echo json_encode([
    'server_x_foo' => $_SERVER['HTTP_X_FOO'] ?? null,
    'server_x_multi_word' => $_SERVER['HTTP_X_MULTI_WORD_HEADER'] ?? null,
    'getallheaders' => getallheaders(),
    'apache_request_headers' => apache_request_headers(),
    'functions_exist' => [function_exists('getallheaders'), function_exists('apache_request_headers')],
]);
