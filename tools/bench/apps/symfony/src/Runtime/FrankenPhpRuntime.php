<?php
// A Symfony Runtime for FrankenPHP-style worker mode, written for tfpm from
// the public structure of runtime/frankenphp-symfony (no code copied):
// select it with APP_RUNTIME=App\Runtime\FrankenPhpRuntime (an environment
// variable, or the "runtime" class Composer writes into autoload_runtime.php).
//
// In a worker (FrankenPHP, or a tfpm pool with mode: worker, both set
// $_SERVER['FRANKENPHP_WORKER']) an HttpKernel application is served by
// FrankenPhpRunner's request loop; anywhere else (classic mode, CLI) the
// plain SymfonyRuntime runs it once, so one front controller serves both.
namespace App\Runtime;

use Symfony\Component\HttpKernel\HttpKernelInterface;
use Symfony\Component\Runtime\RunnerInterface;
use Symfony\Component\Runtime\SymfonyRuntime;

class FrankenPhpRuntime extends SymfonyRuntime
{
    /**
     * Options on top of SymfonyRuntime's:
     *   frankenphp_loop_max: requests per run of the worker script before it
     *   returns (and is started again); -1 = no limit. Default: the
     *   FRANKENPHP_LOOP_MAX environment variable, else 500.
     */
    public function __construct(array $options = [])
    {
        $loopMax = $options['frankenphp_loop_max']
            ?? $_SERVER['FRANKENPHP_LOOP_MAX'] ?? $_ENV['FRANKENPHP_LOOP_MAX'] ?? 500;
        $options['frankenphp_loop_max'] = (int) $loopMax;
        parent::__construct($options);
    }

    public function getRunner(?object $application): RunnerInterface
    {
        if ($application instanceof HttpKernelInterface && !empty($_SERVER['FRANKENPHP_WORKER'])) {
            return new FrankenPhpRunner($application, $this->options['frankenphp_loop_max']);
        }
        return parent::getRunner($application);
    }
}
