<?php
namespace App\Http\Controllers;

use App\Services\VisitLog;
use Illuminate\Http\JsonResponse;
use Illuminate\Http\Request;

class ApiController
{
    public function item(Request $request, string $id): array
    {
        return ['id' => (int) $id, 'name' => 'item-' . $id, 'path' => $request->path(),
                'framework' => 'illuminate'];
    }

    // What the request carried, as Illuminate sees it (the test compares
    // classic and worker mode with it).
    public function echo(Request $request): JsonResponse
    {
        $response = new JsonResponse([
            'method' => $request->method(),
            'query' => $request->query(),
            'post' => $request->post(),
            'cookies' => $request->cookies->all(),
            'header' => $request->header('X-Test'),
            'content' => $request->getContent(),
        ]);
        if ($request->has('status')) {
            $response->setStatusCode((int) $request->query('status'));
        }
        if ($request->has('set')) {
            $response->headers->set('X-Set', $request->query('set'));
        }
        return $response;
    }

    // Sets per-request state and shows what it held before: null in classic
    // mode, and null in worker mode when each request has its own container.
    public function visit(VisitLog $log, string $name): array
    {
        return ['name' => $name, 'previous' => $log->visit($name)];
    }
}
