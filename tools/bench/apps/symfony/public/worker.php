<?php
// The same application as index.php, in worker mode: the kernel boots once
// per thread and handles every request in a loop (the shape of Symfony
// Runtime's FrankenPHP runner, without Composer).
require dirname(__DIR__) . '/bootstrap.php';

use App\Kernel;
use Symfony\Component\HttpFoundation\Request;

$kernel = new Kernel('prod', false);
$kernel->boot();

$handler = static function () use ($kernel): void {
    $request = Request::createFromGlobals();
    $response = $kernel->handle($request);
    $response->send();
    $kernel->terminate($request, $response);
};

while (frankenphp_handle_request($handler)) {
    gc_collect_cycles();
}
