<?php
// Busy for ?us= microseconds of wall time (default 1000), then answers
// "busy <pid>": a request that keeps its PHP thread running.
$us = (int)($_GET['us'] ?? 1000);
$end = hrtime(true) + $us * 1000;
$n = 0;
while (hrtime(true) < $end) {
    $n++;
}
echo "busy ", getmypid(), "\n";
