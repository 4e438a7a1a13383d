<?php
// POST application/x-www-form-urlencoded: echoes $_POST.
header('Content-Type: application/json');
echo json_encode([
    'method' => $_SERVER['REQUEST_METHOD'],
    'content_type' => $_SERVER['CONTENT_TYPE'] ?? null,
    'post' => $_POST,
    'get' => $_GET,
]);
