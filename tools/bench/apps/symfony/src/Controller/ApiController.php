<?php
namespace App\Controller;

use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\Request;
use App\Service\VisitLog;

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

    // Sets per-request state (a kernel.reset service) and shows what it held
    // before: null in classic mode, and null in worker mode when the reset
    // between requests works.
    public function visit(VisitLog $log, string $name): JsonResponse
    {
        $previous = $log->visit($name);
        return new JsonResponse(['name' => $name, 'previous' => $previous]);
    }
}
