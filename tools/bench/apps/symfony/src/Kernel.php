<?php
// A minimal Symfony 5.4 kernel built only from Debian's php-symfony-*
// packages (no Composer): FrameworkBundle, one route, one Twig-free
// controller. The cache (compiled container, router) lives in var/ under
// the project directory, a temporary copy made by tools/bench/compare.
namespace App;

use Symfony\Bundle\FrameworkBundle\FrameworkBundle;
use Symfony\Bundle\FrameworkBundle\Kernel\MicroKernelTrait;
use Symfony\Component\DependencyInjection\Loader\Configurator\ContainerConfigurator;
use Symfony\Component\HttpKernel\Kernel as BaseKernel;
use Symfony\Component\Routing\Loader\Configurator\RoutingConfigurator;

class Kernel extends BaseKernel
{
    use MicroKernelTrait;

    public function registerBundles(): iterable
    {
        return [new FrameworkBundle()];
    }

    public function getProjectDir(): string
    {
        return \dirname(__DIR__);
    }

    protected function configureContainer(ContainerConfigurator $container): void
    {
        $container->extension('framework', [
            'secret' => 'tfpm-bench',
            'http_method_override' => false,
            'router' => ['utf8' => true],
            'php_errors' => ['log' => false],
            'session' => false,
        ]);
        $container->services()
            ->set(Controller\ApiController::class)
            ->autowire()
            ->autoconfigure()
            ->public()
            ->tag('controller.service_arguments');
        $container->services()
            ->set(Service\VisitLog::class)
            ->autoconfigure();
    }

    protected function configureRoutes(RoutingConfigurator $routes): void
    {
        $routes->add('api_item', '/api/items/{id}')
            ->controller([Controller\ApiController::class, 'item'])
            ->requirements(['id' => '\d+'])
            ->methods(['GET']);
        $routes->add('api_echo', '/api/echo')
            ->controller([Controller\ApiController::class, 'echo'])
            ->methods(['GET', 'POST']);
        $routes->add('api_visit', '/api/visit/{name}')
            ->controller([Controller\ApiController::class, 'visit'])
            ->methods(['GET']);
    }
}
