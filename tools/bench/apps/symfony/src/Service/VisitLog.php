<?php
// Per-request state of the kind worker mode must not carry over: the name
// the current request gave. Tagged kernel.reset (autoconfigured through
// ResetInterface), so the kernel resets it before it handles the next
// request in worker mode; in classic mode every request has a new one.
namespace App\Service;

use Symfony\Contracts\Service\ResetInterface;

class VisitLog implements ResetInterface
{
    private ?string $name = null;

    // Returns the name held before this call.
    public function visit(string $name): ?string
    {
        $previous = $this->name;
        $this->name = $name;
        return $previous;
    }

    public function reset(): void
    {
        $this->name = null;
    }
}
