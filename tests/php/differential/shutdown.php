<?php
header('Content-Type: text/plain');
class D { function __destruct() { echo "destructor\n"; } }
$d = new D;
register_shutdown_function(function () { echo "shutdown 1\n"; });
register_shutdown_function(function ($x) { echo "shutdown 2 $x\n"; header('X-From-Shutdown: 1'); }, 'arg');
echo "main\n";
switch ($_GET['mode'] ?? '') {
case 'exit': exit("exiting\n");
case 'fatal': undefined_function_abc();
case 'finish': fastcgi_finish_request(); echo "lost\n"; break;
}
