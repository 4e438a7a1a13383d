<?php
// Scenario "upload": reads the whole request body (8 MB in the benchmark)
// and answers its SHA-256 and length.
header('Content-Type: text/plain');
$body = file_get_contents('php://input');
echo hash('sha256', $body), ' ', strlen($body), "\n";
