<?php
header('Content-Type: text/plain');
$t = $_SERVER['REQUEST_TIME'];
$f = $_SERVER['REQUEST_TIME_FLOAT'];
echo 'REQUEST_TIME is_int=', var_export(is_int($t), true), "\n";
echo 'REQUEST_TIME_FLOAT is_float=', var_export(is_float($f), true), "\n";
echo 'within 5s of now=', var_export(abs(time() - $t) <= 5, true), "\n";
echo 'int part matches=', var_export((int)$f === $t, true), "\n";
echo 'float <= microtime=', var_export($f <= microtime(true), true), "\n";
