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
if (isset($_GET['limit'])) {
    // max_execution_time of this request; the busy loop below then ends
    // with PHP's own "Maximum execution time" fatal error.
    set_time_limit((int)$_GET['limit']);
}
header('X-Started: ' . microtime(true));
echo "start $how\n";
switch ($how) {
    case 'busy': spin(); break;
    case 'sleep': nap(); break;
    case 'socket': wait_socket(); break;
    case 'child':
        // proc_close() waits for the child, retrying waitpid() after EINTR:
        // a hang that no signal ends.
        $p = proc_open(['sleep', (string)($_GET['s'] ?? 6)], [], $pipes);
        proc_close($p);
        break;
    case 'fiber':
        $f = new Fiber(function () { spin(); });
        $f->start();
        break;
    default:
        echo "ok\n";
}
echo "end $how\n";
