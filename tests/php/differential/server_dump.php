<?php
// Every $_SERVER entry in order (but the clock), then getenv() without a name.
header('Content-Type: text/plain');
foreach ($_SERVER as $k => $v) {
    if ($k === 'REQUEST_TIME' || $k === 'REQUEST_TIME_FLOAT') continue;
    echo $k, '=', var_export($v, true), "\n";
}
echo "--- getenv()\n";
foreach (getenv() as $k => $v) echo $k, '=', var_export($v, true), "\n";
