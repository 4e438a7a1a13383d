<?php
// What Composer's symfony/runtime plugin generates as
// vendor/autoload_runtime.php, for this Composer-less app: load the
// autoloaders, run the front controller to get the application's closure,
// let the runtime resolve its arguments and run it. The front controller
// (public/runtime.php) is the same for classic mode and worker mode.

if (true === (require_once __DIR__ . '/bootstrap.php') || empty($_SERVER['SCRIPT_FILENAME'])) {
    return;  // included again by the front controller itself
}
require_once '/usr/share/php/Symfony/Component/Runtime/autoload.php';

$app = require $_SERVER['SCRIPT_FILENAME'];
if (!is_object($app)) {
    throw new TypeError(sprintf('Invalid return value: callable object expected, "%s" returned from "%s".',
        get_debug_type($app), $_SERVER['SCRIPT_FILENAME']));
}

$runtime = $_SERVER['APP_RUNTIME'] ?? $_ENV['APP_RUNTIME'] ?? 'Symfony\\Component\\Runtime\\SymfonyRuntime';
$runtime = new $runtime(($_SERVER['APP_RUNTIME_OPTIONS'] ?? $_ENV['APP_RUNTIME_OPTIONS'] ?? [])
    + ['project_dir' => __DIR__]);

[$app, $args] = $runtime->getResolver($app)->resolve();
$app = $app(...$args);

exit($runtime->getRunner($app)->run());
