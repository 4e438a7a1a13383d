<?php
// Hashes the raw request body as PHP reads it from php://input.
header('Content-Type: application/json');
echo json_encode([
    'sha256' => hash_file('sha256', 'php://input'),
    'length' => strlen(file_get_contents('php://input')),
    'content_length' => (int)($_SERVER['CONTENT_LENGTH'] ?? -1),
]);
