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
}
