<?php
// Hangs in the way ?how= asks, for the timeout tests:
//   busy    a PHP loop          sleep   sleep()
//   socket  fread() on a socket that never sends
//   fiber   a busy loop inside a Fiber
//   ok      answers at once (normal traffic)
function spin() {
    while (true) {
        $x = hrtime(true);
    }
}
function nap() {
    sleep(3600);
}
function wait_socket() {
    [$a, $b] = stream_socket_pair(STREAM_PF_UNIX, STREAM_SOCK_STREAM, 0);
    stream_set_timeout($a, 3600);
    return fread($a, 10);
}
$how = $_GET['how'] ?? 'ok';
header('X-Started: ' . microtime(true));
echo "start $how\n";
switch ($how) {
    case 'busy': spin(); break;
    case 'sleep': nap(); break;
    case 'socket': wait_socket(); break;
    case 'fiber':
        $f = new Fiber(function () { spin(); });
        $f->start();
        break;
    default:
        echo "ok\n";
}
echo "end $how\n";
