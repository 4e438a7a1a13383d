<?php
header('Content-Type: text/plain');
echo 'GET=', json_encode($_GET), "\n";
echo 'QUERY_STRING=', var_export($_SERVER['QUERY_STRING'] ?? null, true), "\n";
echo 'REQUEST_URI=', var_export($_SERVER['REQUEST_URI'] ?? null, true), "\n";
echo 'argv=', json_encode($_SERVER['argv'] ?? null), ' argc=', json_encode($_SERVER['argc'] ?? null), "\n";
