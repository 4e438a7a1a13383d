<?php
// Answers "started <hrtime ns>" after staying busy for ?us= microseconds
// (default 0): which of two queued requests ran first, and a thread held
// long enough for another request to queue behind it.
$start = hrtime(true);
$us = (int)($_GET['us'] ?? 0);
while (hrtime(true) < $start + $us * 1000) {
}
echo "started ", $start, "\n";
