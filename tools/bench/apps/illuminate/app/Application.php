<?php
// The container an Illuminate application runs in: what Laravel's
// Foundation\Application registers first (itself, events, the router),
// without the rest of the framework.
namespace App;

use Illuminate\Container\Container;
use Illuminate\Events\Dispatcher;
use Illuminate\Routing\Router;

class Application extends Container
{
    public function __construct()
    {
        static::setInstance($this);
        $this->instance('app', $this);
        $this->alias('app', Container::class);
        $this->alias('app', self::class);
        $this->alias('app', \Illuminate\Contracts\Container\Container::class);

        $this->singleton('events', static fn (Container $app) => new Dispatcher($app));
        $this->alias('events', Dispatcher::class);
        $this->alias('events', \Illuminate\Contracts\Events\Dispatcher::class);

        $this->singleton('router', static fn (Container $app) => new Router($app['events'], $app));
        $this->alias('router', Router::class);

        // The current request (bound by the HTTP kernel), for type-hinted
        // controller arguments.
        $this->alias('request', \Illuminate\Http\Request::class);

        // Per-request state: one instance per container (the sandbox in
        // worker mode, see App\Octane\Worker).
        $this->singleton(Services\VisitLog::class);
    }

    // Registers the routes (a service provider's job in Laravel).
    public function boot(callable $routes): void
    {
        $routes($this->make('router'));
    }
}
