<?php
// An Octane-style worker, written for tfpm from the public structure of
// Laravel Octane (no code copied): the application boots once per run of
// the worker script; each request is served by a clone of it (the
// "sandbox"), which is flushed afterwards, so what a request resolves or
// binds in the container dies with it. Services resolved at boot (router,
// events) are shared by all requests and are pointed at the sandbox while
// it serves.
namespace App\Octane;

use App\Application;
use App\Http\Kernel;
use Illuminate\Container\Container;
use Illuminate\Http\Request;
use Illuminate\Routing\Route;

class Worker
{
    private \Closure $factory;
    private ?Application $app = null;

    public function __construct(\Closure $factory)
    {
        $this->factory = $factory;
    }

    public function boot(): self
    {
        $this->app = ($this->factory)();
        // Resolved once, shared by every sandbox (Octane's "warm" services).
        $this->app->make('events');
        $this->app->make('router');
        return $this;
    }

    public function handle(Request $request): void
    {
        $sandbox = clone $this->app;
        $this->use($sandbox);
        try {
            $kernel = $sandbox->make(Kernel::class);
            $response = $kernel->handle($request);
            $response->send();
            $kernel->terminate($request, $response);
            // A route keeps its controller instance: drop it, it was built
            // from the sandbox.
            $route = $request->route();
            if ($route instanceof Route) {
                $route->flushController();
            }
        } finally {
            $sandbox->flush();
            $this->use($this->app);
        }
    }

    public function terminate(): void
    {
        $this->app['events']->dispatch('worker.stopping');
    }

    // Makes $app the container everything resolves from.
    private function use(Application $app): void
    {
        Container::setInstance($app);
        $app->instance('app', $app);
        $app['router']->setContainer($app);
    }
}
