<?php
// $_SERVER entries and getenv() for the names in ?k=A,B,C.
header('Content-Type: text/plain');
foreach (explode(',', $_GET['k'] ?? '') as $k) {
    echo $k, '=', array_key_exists($k, $_SERVER) ? var_export($_SERVER[$k], true) : '(unset)',
         ' getenv=', var_export(getenv($k), true), "\n";
}
