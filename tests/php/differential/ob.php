<?php
header('Content-Type: text/plain');
switch ($_GET['mode'] ?? '') {
case 'callback':
    ob_start(fn($b) => strtoupper($b)); echo "lower case\n"; ob_end_flush(); break;
case 'nested':
    ob_start(); echo "a"; ob_start(); echo "b"; $b = ob_get_clean(); echo "c"; $a = ob_get_clean();
    echo "$a|$b|", ob_get_level(), "\n"; break;
case 'header_after_echo':
    echo "text first\n"; header('X-After: yes'); echo 'sent=', var_export(headers_sent(), true), "\n"; break;
case 'no_buffer':
    while (ob_get_level()) ob_end_clean();
    echo "text first\n"; header('X-After: yes'); echo 'sent=', var_export(headers_sent(), true), "\n"; break;
case 'flush':
    echo "one\n"; ob_flush(); flush(); echo "two\n"; break;
case 'status':
    echo json_encode(array_map(fn($s) => [$s['name'], $s['level']], ob_get_status(true))), "\n"; break;
case 'clean_all':
    echo "discarded"; ob_end_clean(); echo "kept\n"; break;
}
