<?php
// Answers, calls fastcgi_finish_request(), then keeps running: after
// ?sleep_ms (default 500) it writes "after" into the file ?marker.
$marker = $_GET['marker'];
echo "response sent\n";
$ok = fastcgi_finish_request();
usleep((int)($_GET['sleep_ms'] ?? 500) * 1000);
echo "this output is discarded\n";
file_put_contents($marker, $ok ? "after finish_request: true" : "after finish_request: false");
