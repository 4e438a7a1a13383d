<?php
header('Content-Type: text/plain');
$in = file_get_contents('php://input');
echo 'method=', $_SERVER['REQUEST_METHOD'], "\n";
echo 'CONTENT_TYPE=', var_export($_SERVER['CONTENT_TYPE'] ?? null, true), "\n";
echo 'CONTENT_LENGTH=', var_export($_SERVER['CONTENT_LENGTH'] ?? null, true), "\n";
echo 'input length=', strlen($in), ' md5=', md5($in), "\n";
echo 'POST=', json_encode($_POST), "\n";
echo 'REQUEST=', json_encode($_REQUEST), "\n";
