<?php
// fpm_get_status() as JSON (php-fpm's function: the pool's status page as an array).
header('Content-Type: application/json');
$s = fpm_get_status();
echo json_encode($s === false ? ['error' => 'no status'] : $s), "\n";
