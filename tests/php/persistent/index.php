<?php
// Writes "tag\n" on a persistent socket (pfsockopen) to 127.0.0.1:port. A
// persistent socket lives as long as the thread's interpreter, so the test's
// listener sees whether two requests ran in the same interpreter (one
// connection) or the interpreter was replaced in between (the old
// connection closes, the next request opens a new one).
$fp = pfsockopen('127.0.0.1', (int)$_GET['port'], $errno, $errstr, 5);
if (!$fp) {
    http_response_code(500);
    exit("pfsockopen: $errstr");
}
fwrite($fp, $_GET['tag'] . "\n");
if (isset($_GET['fatal'])) {
    tfpm_test_no_such_function();  // Fatal error: Uncaught Error
}
echo 'ok';
