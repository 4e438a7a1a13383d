<?php
// The same application as index.php, in worker mode: the kernel boots once
// per thread and handles every request in a loop (the shape of Symfony
// Runtime's FrankenPHP runner, without Composer).
require_once '/usr/share/php/Symfony/Bundle/FrameworkBundle/autoload.php';

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'App\\')) {
        require dirname(__DIR__) . '/src/' . str_replace('\\', '/', substr($class, 4)) . '.php';
    }
});

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
