<?php
// Shared by public/index.php (classic) and public/worker.php (worker mode).
// Debian's packages register their own autoloaders; the application's
// classes are loaded by the small PSR-4 loader below.
require_once '/usr/share/php/Symfony/Bundle/FrameworkBundle/autoload.php';

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'App\\')) {
        require __DIR__ . '/src/' . str_replace('\\', '/', substr($class, 4)) . '.php';
    }
});
