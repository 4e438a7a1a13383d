<?php
// Answers at once with when it started, then keeps the thread busy after
// fastcgi_finish_request() (as Symfony's Response::send() does).
echo json_encode(['id' => $_GET['id'] ?? '', 'start' => microtime(true)]);
fastcgi_finish_request();
usleep((int)(1e6 * (float)($_GET['tail'] ?? 0.3)));
