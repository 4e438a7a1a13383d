<?php
// The HTTP kernel: request in, response out through the router, HTTP
// errors (404, 405) rendered as JSON, as a Laravel API's handler does.
namespace App\Http;

use Illuminate\Container\Container;
use Illuminate\Http\JsonResponse;
use Illuminate\Http\Request;
use Illuminate\Routing\Router;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\HttpKernel\Exception\HttpExceptionInterface;

class Kernel
{
    private Container $app;
    private Router $router;

    public function __construct(Container $app, Router $router)
    {
        $this->app = $app;
        $this->router = $router;
    }

    public function handle(Request $request): Response
    {
        $this->app->instance('request', $request);
        try {
            return $this->router->dispatch($request);
        } catch (HttpExceptionInterface $e) {
            $status = $e->getStatusCode();
            return new JsonResponse(['message' => Response::$statusTexts[$status] ?? 'Error'],
                                    $status, $e->getHeaders());
        }
    }

    public function terminate(Request $request, Response $response): void
    {
        $this->app['events']->dispatch('kernel.terminated', [$request, $response]);
    }
}
