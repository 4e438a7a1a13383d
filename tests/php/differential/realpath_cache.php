<?php
// What this process's (php-fpm) or thread's (tfpm) realpath cache holds for
// the path in ?p=: PHP's own cache, filled by whatever resolved that path.
// ?left=1 also shows the seconds until the entry expires.
header('Content-Type: text/plain');
$p = $_GET['p'] ?? '';
$cache = realpath_cache_get();
if (!isset($cache[$p])) {
    echo "not cached\n";
    return;
}
$e = $cache[$p];
$left = $e['expires'] - time();
echo 'cached realpath=', $e['realpath'], ' is_dir=', var_export($e['is_dir'], true),
     ' within_ttl=', var_export($left > 0 && $left <= (int) ini_get('realpath_cache_ttl'), true), "\n";
if (isset($_GET['left'])) {
    echo 'left=', $left, "\n";
}
