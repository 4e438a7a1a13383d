<?php
namespace App\Controller;

use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\Request;

class ApiController
{
    public function item(Request $request, int $id): JsonResponse
    {
        return new JsonResponse([
            'id' => $id,
            'name' => 'item-' . $id,
            'path' => $request->getPathInfo(),
            'framework' => 'symfony ' . \Symfony\Component\HttpKernel\Kernel::VERSION,
        ]);
    }

    // What the request carried, as Symfony sees it (tests compare classic
    // and worker mode with it).
    public function echo(Request $request): JsonResponse
    {
        $response = new JsonResponse([
            'method' => $request->getMethod(),
            'query' => $request->query->all(),
            'post' => $request->request->all(),
            'cookies' => $request->cookies->all(),
            'header' => $request->headers->get('X-Test'),
            'content' => $request->getContent(),
        ]);
        if ($request->query->has('status')) {
            $response->setStatusCode((int) $request->query->get('status'));
        }
        if ($request->query->has('set')) {
            $response->headers->set('X-Set', $request->query->get('set'));
        }
        return $response;
    }
}
