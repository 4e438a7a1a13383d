<?php
// Served by the classic pool next to the worker pool.
echo json_encode(['mode' => 'classic', 'sapi' => php_sapi_name()]);
