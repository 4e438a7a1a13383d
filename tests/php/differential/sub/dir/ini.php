<?php
// ini_get for ?k=a,b; with ?set=key:value also ini_set (and its result).
header('Content-Type: text/plain');
if (isset($_GET['set'])) {
    [$key, $value] = explode(':', $_GET['set'], 2);
    echo "ini_set($key)=", var_export(ini_set($key, $value), true), "\n";
}
foreach (explode(',', $_GET['k'] ?? '') as $k) {
    echo $k, '=', var_export(ini_get($k), true), "\n";
}
