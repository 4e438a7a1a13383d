<?php
// Builds the application: the container with its services and routes
// (what bootstrap/app.php plus the service providers do in a Laravel app).
use App\Application;
use App\Http\Controllers\ApiController;
use App\Http\Middleware\StampResponse;
use Illuminate\Routing\Router;

$app = new Application();
$app->boot(static function (Router $router): void {
    $router->aliasMiddleware('stamp', StampResponse::class);
    $router->get('/items/{id}', [ApiController::class, 'item'])->where('id', '[0-9]+');
    $router->match(['GET', 'POST'], '/echo', [ApiController::class, 'echo']);
    $router->get('/visit/{name}', [ApiController::class, 'visit']);
    $router->get('/hello', static fn () => "hello from illuminate\n")->middleware('stamp');
});
return $app;
