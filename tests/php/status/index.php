<?php
// ?code=N: http_response_code(N); ?location=URL: a 302 redirect.
if (isset($_GET['location'])) {
    header('Location: ' . $_GET['location'], true, 302);
    echo "redirecting\n";
    exit;
}
$code = (int)($_GET['code'] ?? 200);
http_response_code($code);
header('Content-Type: text/plain');
echo "status $code\n";
