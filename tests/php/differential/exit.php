<?php
header('Content-Type: text/plain');
echo "start\n";
switch ($_GET['mode'] ?? '') {
case 'plain': exit;
case 'code': exit(3);
case 'string': exit("bye\n");
case 'in_ob': ob_start(); echo "buffered\n"; exit;
case 'in_function': (function () { echo "inside\n"; exit(0); })();
case 'after_flush': flush(); echo "more\n"; exit;
}
echo "not reached unless no mode\n";
