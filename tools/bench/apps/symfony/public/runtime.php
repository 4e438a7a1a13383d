<?php
// Front controller in the Symfony Runtime style: it returns the kernel,
// the runtime (APP_RUNTIME, see autoload_runtime.php) runs it. The same file
// serves classic mode (SCRIPT_FILENAME of each request) and worker mode
// (worker.script), unchanged.
use App\Kernel;

require_once dirname(__DIR__) . '/autoload_runtime.php';

return static function (array $context): Kernel {
    return new Kernel($context['APP_ENV'], (bool) $context['APP_DEBUG']);
};
