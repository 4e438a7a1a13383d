<?php
// The worker loop of FrankenPhpRuntime: the kernel is built (and boots on
// its first request) once per run of the worker script; each call of
// frankenphp_handle_request() serves one request with it.
namespace App\Runtime;

use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\HttpKernel\HttpKernelInterface;
use Symfony\Component\HttpKernel\TerminableInterface;
use Symfony\Component\Runtime\RunnerInterface;

class FrankenPhpRunner implements RunnerInterface
{
    private HttpKernelInterface $kernel;
    private int $loopMax;

    public function __construct(HttpKernelInterface $kernel, int $loopMax)
    {
        $this->kernel = $kernel;
        $this->loopMax = $loopMax;
    }

    public function run(): int
    {
        // A client that goes away must not cut a request (and the kernel's
        // state) in half.
        ignore_user_abort(true);

        // What the runtime put into $_SERVER at boot (APP_ENV, APP_DEBUG,
        // values from .env) is not part of the requests' params: carry it
        // over, without letting the boot's HTTP_* values reach a request.
        $bootServer = [];
        foreach ($_SERVER as $name => $value) {
            if (strncmp($name, 'HTTP_', 5) !== 0) {
                $bootServer[$name] = $value;
            }
        }
        $bootServer['APP_RUNTIME_MODE'] = 'web=1&worker=1';

        $request = null;
        $response = null;
        $serve = function () use ($bootServer, &$request, &$response): void {
            $_SERVER += $bootServer;
            $request = Request::createFromGlobals();
            $response = $this->kernel->handle($request);
            $response->send();
        };

        $served = 0;
        while (true) {
            $request = $response = null;
            $more = \frankenphp_handle_request($serve);
            // kernel.terminate listeners run after the client has its
            // response, as fastcgi_finish_request() gives them in classic mode.
            if ($request instanceof Request && $response instanceof Response
                && $this->kernel instanceof TerminableInterface) {
                $this->kernel->terminate($request, $response);
            }
            $request = $response = null;
            gc_collect_cycles();
            if (!$more || ($this->loopMax >= 0 && ++$served >= $this->loopMax)) {
                return 0;
            }
        }
    }
}
