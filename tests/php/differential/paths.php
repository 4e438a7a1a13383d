<?php
// The request's path variables, as the SAPI computed them.
header('Content-Type: text/plain');
$keys = ['SCRIPT_FILENAME', 'SCRIPT_NAME', 'PATH_INFO', 'PATH_TRANSLATED', 'PHP_SELF',
         'ORIG_PATH_INFO', 'ORIG_SCRIPT_NAME', 'ORIG_SCRIPT_FILENAME', 'ORIG_PATH_TRANSLATED',
         'DOCUMENT_ROOT', 'REQUEST_URI', 'QUERY_STRING'];
foreach ($keys as $k) {
    echo $k, '=', array_key_exists($k, $_SERVER) ? var_export($_SERVER[$k], true) : '(unset)', "\n";
}
foreach (['SCRIPT_FILENAME', 'PATH_INFO', 'SCRIPT_NAME'] as $k) {
    echo "getenv($k)=", var_export(getenv($k), true), "\n";
}
echo 'main=', get_included_files()[0], "\n";
echo 'cwd=', getcwd(), "\n";
echo 'GET=', json_encode($_GET), "\n";
