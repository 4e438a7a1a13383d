<?php
// With variables_order "EGPCS": $_ENV, then $_SERVER built from it.
header('Content-Type: text/plain');
echo '--- _ENV', "\n";
foreach ($_ENV as $k => $v) echo $k, '=', var_export($v, true), "\n";
echo '--- _SERVER', "\n";
foreach ($_SERVER as $k => $v) {
    if ($k === 'REQUEST_TIME' || $k === 'REQUEST_TIME_FLOAT') continue;
    echo $k, '=', var_export($v, true), "\n";
}
echo "--- filter_input\n", var_export(filter_input(INPUT_ENV, 'HTTP_X_E'), true), "\n";
