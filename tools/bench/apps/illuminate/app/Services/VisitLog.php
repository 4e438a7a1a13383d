<?php
// Per-request state of the kind worker mode must not carry over: the name
// the current request gave, in a container singleton. Octane-style workers
// serve each request from a clone of the booted container, so each request
// gets a new one, as in classic mode.
namespace App\Services;

class VisitLog
{
    private ?string $name = null;

    // Returns the name held before this call.
    public function visit(string $name): ?string
    {
        $previous = $this->name;
        $this->name = $name;
        return $previous;
    }
}
