<?php
header('Content-Type: text/plain');
if (isset($_GET['display'])) ini_set('display_errors', $_GET['display']);
echo "before\n";
switch ($_GET['mode'] ?? '') {
case 'warning': echo $undefined_variable; echo "\n"; break;
case 'two_warnings': echo $u1, $u2; echo "\n"; break;
case 'user_notice': trigger_error('custom notice', E_USER_NOTICE); break;
case 'user_warning': trigger_error('custom warning', E_USER_WARNING); break;
case 'exception': throw new RuntimeException('boom');
case 'fatal': undefined_function_xyz(); break;
case 'error_log': error_log('written with error_log()'); break;
case 'memory': ini_set('memory_limit', '4M'); $a = str_repeat('x', 8 * 1024 * 1024); break;
case 'parse': include __DIR__ . '/broken.inc'; break;
case 'long': error_log(str_repeat('L', 3000)); break;
}
echo "after\n";
