<?php
// ext/filter's copies of the request variables (INPUT_SERVER, INPUT_GET, ...).
header('Content-Type: text/plain');
foreach (['REQUEST_URI', 'HTTP_HOST', 'SCRIPT_FILENAME', 'PATH_INFO', 'HTTP_X_TAG'] as $k) {
    echo "INPUT_SERVER $k=", var_export(filter_input(INPUT_SERVER, $k), true),
         ' has=', var_export(filter_has_var(INPUT_SERVER, $k), true), "\n";
}
echo 'INPUT_GET q=', var_export(filter_input(INPUT_GET, 'q', FILTER_VALIDATE_INT), true), "\n";
echo 'INPUT_COOKIE c=', var_export(filter_input(INPUT_COOKIE, 'c'), true), "\n";
echo 'INPUT_ENV PATH=', var_export(filter_input(INPUT_ENV, 'PATH'), true), "\n";
