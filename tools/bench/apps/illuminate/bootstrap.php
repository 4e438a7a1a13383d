<?php
// Shared by public/index.php (classic) and public/worker.php (worker mode).
// Debian's php-illuminate-* packages (Laravel 8 components; Debian has no
// full Laravel) register their own autoloaders and find each other through
// the include path; the application's classes load with the PSR-4 loader
// below.
set_include_path('/usr/share/php' . PATH_SEPARATOR . get_include_path());
require_once 'Illuminate/Routing/autoload.php';
require_once 'Illuminate/Events/autoload.php';

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'App\\')) {
        require __DIR__ . '/app/' . str_replace('\\', '/', substr($class, 4)) . '.php';
    }
});
