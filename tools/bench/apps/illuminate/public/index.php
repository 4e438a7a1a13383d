<?php
// Front controller (classic mode): build the application per request.
use App\Http\Kernel;
use Illuminate\Http\Request;

require dirname(__DIR__) . '/bootstrap.php';
$app = require dirname(__DIR__) . '/app.php';

$kernel = $app->make(Kernel::class);
$response = $kernel->handle($request = Request::capture());
$response->send();
$kernel->terminate($request, $response);
