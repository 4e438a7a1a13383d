<?php
// The same application in worker mode, Laravel Octane-style (the shape of
// Octane's FrankenPHP worker script, written for tfpm): the worker boots
// inside the first request (so the application sees a request's
// environment), then every request goes through Worker::handle(), which
// clones and flushes the application around it. MAX_REQUESTS (environment)
// ends the run after that many requests; the server starts it again.
use App\Octane\Worker;
use Illuminate\Http\Request;

ignore_user_abort(true);
require dirname(__DIR__) . '/bootstrap.php';

$worker = null;
$maxRequests = (int) ($_ENV['MAX_REQUESTS'] ?? $_SERVER['MAX_REQUESTS'] ?? 1000);

$handleRequest = static function () use (&$worker): void {
    $worker ??= (new Worker(static fn () => require dirname(__DIR__) . '/app.php'))->boot();
    $worker->handle(Request::capture());
};

$requests = 0;
while ($requests < $maxRequests && frankenphp_handle_request($handleRequest)) {
    $requests++;
}
$worker?->terminate();
gc_collect_cycles();
