<?php
// A worker-mode app for the integration tests: boots once per run, then
// serves requests; ?do= picks a behaviour.
$boot = bin2hex(random_bytes(6));
$count = 0;
$leak = [];

$handler = function () use ($boot, &$count, &$leak) {
    $count++;
    $do = $_GET['do'] ?? '';
    switch ($do) {
        case 'fatal':
            echo 'partial';
            eval('function dup_fn() {}');
            eval('function dup_fn() {}');
            return;
        case 'throw':
            throw new RuntimeException('boom from the handler');
        case 'exit':
            echo 'bye';
            exit(0);
        case 'log':
            frankenphp_log("hello\nworld", FRANKENPHP_LOG_LEVEL_WARN, ['user' => 'u1', 'n' => 3, 'a' => [1]]);
            echo 'logged';
            return;
        case 'leak':
            $leak[] = str_repeat('x', 1 << 20);
            break;
        case 'sleep':
            usleep((int)(1e6 * (float)($_GET['s'] ?? 1)));
            break;
        case 'busy':
            while (true) {
                $t = microtime(true);
            }
        case 'fiber':
            // Fibers switching inside the handler, the per-thread timer armed.
            $log = [];
            $fs = [];
            foreach ([1, 2, 3] as $k) {
                $fs[$k] = new Fiber(function () use ($k, &$log) {
                    for ($i = 0; $i < 20; $i++) {
                        $log[] = $k;
                        Fiber::suspend();
                    }
                });
                $fs[$k]->start();
            }
            while (array_filter($fs, fn($f) => !$f->isTerminated())) {
                foreach ($fs as $f) {
                    if (!$f->isTerminated()) $f->resume();
                }
            }
            header('X-Fiber-Steps: ' . count($log));
            break;
        case 'session':
            session_start();
            if (!isset($_SESSION['owner'])) {
                $_SESSION['owner'] = $_GET['id'];
            }
            break;
    }
    header('Content-Type: application/json');
    echo json_encode([
        'boot' => $boot,
        'count' => $count,
        'tid' => tfpm_info()['thread_id'],
        'pid' => getmypid(),
        'id' => $_GET['id'] ?? null,
        'cookie' => $_COOKIE['u'] ?? null,
        'header' => $_SERVER['HTTP_X_ID'] ?? null,
        'owner' => $_SESSION['owner'] ?? null,
        'worker' => $_SERVER['FRANKENPHP_WORKER'] ?? null,
        'uri' => $_SERVER['REQUEST_URI'],
        'post' => $_POST,
    ]);
};

while (frankenphp_handle_request($handler)) {
    gc_collect_cycles();
}
