<?php
header('Content-Type: text/plain');
foreach (['precision', 'serialize_precision', 'allow_url_fopen', 'output_buffering', 'default_charset'] as $k) {
    echo $k, '=', var_export(ini_get($k), true), "\n";
}
echo 'ob_level=', ob_get_level(), "\n";
echo 'ini_set(precision)=', var_export(ini_set('precision', '3'), true), "\n";
