<?php
namespace App\Http\Middleware;

use Closure;
use Illuminate\Http\Request;

class StampResponse
{
    public function handle(Request $request, Closure $next)
    {
        $response = $next($request);
        $response->headers->set('X-Stamp', 'illuminate');
        return $response;
    }
}
