<?php
// Fails while booting, before it ever asks for a request.
require __DIR__ . '/does-not-exist.php';
tfpm_handle_request(function () { echo 'unreachable'; });
